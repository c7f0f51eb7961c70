/**
 * The `{pid_or_name}` path segment (docs/protocol.md "Managed processes":
 * "Addressing"): percent-decoded; all ASCII digits is a pid (the newest process that
 * had it, which may be a run of a managed process), anything else the name of a
 * managed process and its current run.
 */
import type { SupervisedProcess } from '../core/process.js'
import type { ManagedProcess } from '../managed/process.js'
import type { ProcessInfo } from '../types.js'
import type { RouteContext } from './context.js'
import { HttpError } from './errors.js'

/** What a path names: a run, and the managed process it belongs to (if any). */
export interface Target {
  /** The run a pid names, or a name's current run: what signal and stdin act on. */
  run: SupervisedProcess
  managed: ManagedProcess | undefined
  /** True when the segment was a name. */
  byName: boolean
}

/**
 * Resolves the segment.
 *
 * @throws HttpError 404 `NOT_FOUND` with the protocol's message `Process 42 not found`.
 */
export function targetOf(ctx: RouteContext, raw: string): Target {
  let key: string
  try {
    key = decodeURIComponent(raw)
  } catch {
    throw notFound(raw)
  }
  if (/^[0-9]+$/.test(key)) {
    const pid = key.length <= 10 ? Number(key) : Number.NaN
    const run = Number.isSafeInteger(pid) ? ctx.sup.process(pid) : undefined
    if (run === undefined) throw notFound(key)
    return { run, managed: ctx.sup.managedOf(run), byName: false }
  }
  const managed = ctx.sup.managed(key)
  if (managed === undefined) throw notFound(key)
  return { run: managed.current, managed, byName: true }
}

/** ProcessInfo of what the path names: by name the managed process, by pid that run. */
export function infoOf(t: Target): ProcessInfo {
  if (t.managed === undefined) return t.run.info()
  return t.byName ? t.managed.info() : t.managed.infoOf(t.run)
}

function notFound(key: string): HttpError {
  return new HttpError('NOT_FOUND', `Process ${key} not found`)
}
