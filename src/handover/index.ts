/**
 * Live upgrade (docs/upgrade.md): `sup.handover()` re-executes the program from disk in
 * the same pid and hands the running processes to it; `Supervisor.adopt()` takes them
 * on the other side. This module is the operation; the halves are capture.ts and adopt.ts.
 */
import { coded } from '../errors.js'
import type { SupervisedProcess } from '../core/process.js'
import type { ProcessTable } from '../core/table.js'
import type { PtySession } from '../pty/index.js'
import { capture, settle } from './capture.js'
import { checkLoads, execWithState } from './exec.js'
import type { OldWatchdogs } from './guards.js'
import type { HandoverState } from './state.js'

export { takeHandoverState, HANDOVER_ENV, type HandoverState } from './state.js'
export { adoptAll, type LogBounds } from './adopt.js'
export { OldWatchdogs } from './guards.js'
export { captureManaged, managedInBetween, resumeManaged, type ManagedRecord } from './managed-state.js'
export type { PtyRecord } from './pty-state.js'

/** Options of `sup.handover()`. */
export interface HandoverOptions {
  /**
   * The program to execute, `argv[0]` its path. Default: this Node with its options,
   * script and arguments (`process.execPath`, `process.execArgv`, `process.argv`).
   */
  argv?: string[]
  /** Its environment. Default `process.env`. */
  env?: NodeJS.ProcessEnv
  /** More fds to keep open across the execve (a listening socket). */
  keepFds?: number[]
  /**
   * JSON-serializable data for the new program (`Supervisor.adopt()` returns it), or a
   * function that returns it, called in the synchronous step right before the execve
   * (for data that changes until then, such as a server's PTY scrollback).
   */
  extra?: unknown
  /**
   * A command that loads the new program and exits 0, run first: a program that does not
   * load is never executed. Default: `node --check` of the script. `false`: no check.
   */
  check?: string[] | false
  /** Called once the check passed, before the swap (not when the check fails). */
  onChecked?: () => void
  /**
   * Awaited once the check passed, before the processes settle: what must be still
   * before the state is read (`sandproc serve`: PTY clients told to reconnect, the `run`
   * streams' sockets flushed).
   */
  quiesce?: () => Promise<void>
  /**
   * Called in the synchronous pass right before the execve: its `extra` replaces
   * `options.extra`, its `keepFds` are kept open too (state that must be read then: the
   * bytes of a stream not yet sent). If it throws, nothing changed.
   */
  onCapture?: () => { extra?: unknown; keepFds?: number[] }
  /** How long to wait for a process in between (a spawn, an exit draining its pipes), ms. Default 5000. */
  settleMs?: number
}

/** A layer above the core that hands its own state over (managed processes). */
export interface HandoverLayer {
  /** For each of its things between two states, a promise that resolves once it moved on. */
  inBetween(): Promise<void>[]
  /** Adds its records to `state`. Synchronous: called right before the execve. */
  capture(state: HandoverState): void
  /** Which exited processes of the table are plain ones, the table's to hand over; default all. */
  listed?: (p: SupervisedProcess) => boolean
}

/** Rounds of waiting for the core and a layer to be settled at once. */
const LAYER_ROUNDS = 20

/** Resolves once neither the core nor `layer` has anything in between. */
async function settleAll(
  table: ProcessTable,
  layer: HandoverLayer | undefined,
  boundMs: number,
  ptys: () => PtySession[],
): Promise<void> {
  for (let round = 0; ; round++) {
    await settle(table, boundMs, ptys)
    const waits = layer?.inBetween() ?? []
    if (waits.length === 0) return
    if (round === LAYER_ROUNDS) throw coded('managed processes kept changing state; try again', 'HANDOVER_BUSY')
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(waits), new Promise((resolve) => (timer = setTimeout(resolve, boundMs)))])
    clearTimeout(timer)
  }
}

/** Why a supervisor cannot hand over now; null when it can. */
export type Refusal = { message: string; code: string } | null

/**
 * Hands the table's processes to a new program (of the exited ones, those `listed`).
 * Resolves never: on success the program is replaced; rejects, with everything as it
 * was, when it cannot complete.
 */
export async function handOver(
  table: ProcessTable,
  old: OldWatchdogs | undefined,
  refusal: () => Refusal,
  opts: HandoverOptions,
  layer?: HandoverLayer,
  ptys: () => PtySession[] = () => [],
): Promise<never> {
  const argv = opts.argv ?? [process.execPath, ...process.execArgv, ...process.argv.slice(1)]
  if (argv.length === 0) throw new TypeError('argv must name the program to execute')
  const why = refusal()
  if (why !== null) throw coded(why.message, why.code)
  const check = opts.check ?? [process.execPath, '--check', argv[argv.length > 1 ? 1 : 0]]
  if (check !== false) await checkLoads(check)
  opts.onChecked?.()
  await opts.quiesce?.()
  await settleAll(table, layer, opts.settleMs ?? 5000, ptys)
  const again = refusal()
  if (again !== null) throw coded(again.message, again.code)
  const more = opts.onCapture?.() ?? {}
  const extra = 'extra' in more ? more.extra : opts.extra
  const { state, keepFds } = capture(table, table.native, old, extra ?? null, ptys(), layer?.listed)
  layer?.capture(state)
  const keep = [...keepFds, ...(opts.keepFds ?? []), ...(more.keepFds ?? [])]
  return execWithState(table.native, argv, opts.env ?? process.env, keep, state)
}
