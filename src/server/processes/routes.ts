/**
 * The processes room: the JSON endpoints under `/processes` (start, list, get, kill,
 * signal, stdin, restart, freeze and thaw, the output snapshots) and their route table. The event
 * streams under `/processes` (`run`, `follow`) are the SSE room's (../sse/routes.ts).
 */
import type { LogSnapshot, LogView } from '../../core/retain.js'
import { readJsonObject, sendEmpty, sendJson, sendError } from '../http/body.js'
import type { Handler, RouteContext } from '../http/context.js'
import { checkCapacity } from './capacity.js'
import { spawnErrorResponse } from '../../errors.js'
import { HttpError } from '../http/errors.js'
import { exact, PARAM, type Route } from '../http/router.js'
import type { ManagedStartRequest, StartRequest } from '../../types.js'
import { isManagedRequest } from '../../managed/fields.js'
import { idempotencyKey, type FirstOutcome } from './idempotency.js'
import { freeze, thaw } from './freeze.js'
import { restart } from './restart.js'
import { writeStdin } from './stdin.js'
import { infoOf, targetOf } from './target.js'

/** The routes of this room under `prefix` (`/api/v1`). */
export function processRoutes(prefix: string): Route<Handler>[] {
  const one = `${prefix}/processes/${PARAM}`
  return [
    { pattern: exact(`${prefix}/processes`), methods: { GET: list, POST: start } },
    { pattern: exact(one), methods: { GET: get, DELETE: remove } },
    { pattern: exact(`${one}/signal`), methods: { POST: signal } },
    { pattern: exact(`${one}/restart`), methods: { POST: restart } },
    { pattern: exact(`${one}/freeze`), methods: { POST: freeze } },
    { pattern: exact(`${one}/thaw`), methods: { POST: thaw } },
    { pattern: exact(`${one}/stdin`), methods: { POST: writeStdin } },
    { pattern: exact(`${one}/stdin/close`), methods: { POST: closeStdin } },
    { pattern: exact(`${one}/(stdout|stderr|output)`), methods: { GET: snapshot } },
  ]
}

/** The highest signal number on Linux (SIGRTMAX). */
const MAX_SIGNAL = 64

export async function list(ctx: RouteContext): Promise<void> {
  sendJson(ctx.res, 200, { processes: ctx.sup.list() })
}

/**
 * `POST /processes`: 201 with the ProcessInfo once the program is running. With an
 * `Idempotency-Key` seen before (same body): 200 with the first one's process, started
 * once (idempotency.ts).
 */
export async function start(ctx: RouteContext): Promise<void> {
  const key = idempotencyKey(ctx.req.headers['idempotency-key'])
  const body = await readJsonObject(ctx.req, ctx.settings.maxJsonBytes)
  if (key === undefined) return answerStart(ctx, await startOnce(ctx, body), 201)
  const { first, outcome } = ctx.settings.idempotency.begin(key, JSON.stringify(body), () => startOnce(ctx, body))
  answerStart(ctx, await outcome, first ? 201 : 200)
}

/**
 * Starts the process of a start request. Refusals (validation, capacity, a name in use)
 * throw synchronously, so an idempotency key remembers only starts that were attempted.
 */
function startOnce(ctx: RouteContext, body: Record<string, unknown>): Promise<FirstOutcome> {
  checkCapacity(ctx)
  // The supervisor validates every field and throws INVALID_REQUEST naming it.
  const p = isManagedRequest(body)
    ? ctx.sup.startManaged(body as unknown as ManagedStartRequest)
    : ctx.sup.start(body as unknown as StartRequest)
  return p.started.then(
    () => ({ info: () => p.info() }),
    (error: unknown) => ({ error }),
  )
}

function answerStart(ctx: RouteContext, outcome: FirstOutcome, status: number): void {
  if ('error' in outcome) sendError(ctx.res, spawnErrorResponse(outcome.error))
  else sendJson(ctx.res, status, outcome.info())
}

export async function get(ctx: RouteContext): Promise<void> {
  sendJson(ctx.res, 200, infoOf(targetOf(ctx, ctx.params[0])))
}

/**
 * `DELETE /processes/{pid_or_name}`: SIGKILL to the tree, answered once it has exited
 * (so that nothing lists it as running after the 204); also 204 for one that already
 * ended. A managed process is stopped, answered once its run is reaped.
 */
export async function remove(ctx: RouteContext): Promise<void> {
  const t = targetOf(ctx, ctx.params[0])
  ctx.audit({ event: 'kill', pid: t.run.pid, name: t.managed?.info().managed?.name ?? null })
  if (t.managed !== undefined) await t.managed.stop()
  else {
    t.run.killTree()
    await t.run.exited.catch(() => undefined)
  }
  sendEmpty(ctx.res, 204)
}

/**
 * `POST /processes/{pid}/signal` with `{"signal": 15}`: a signal number, as the
 * protocol's wire format has it.
 */
export async function signal(ctx: RouteContext): Promise<void> {
  const proc = targetOf(ctx, ctx.params[0]).run
  const body = await readJsonObject(ctx.req, ctx.settings.maxJsonBytes)
  const number = parseSignal(body.signal)
  // kill() is false once the process is gone, which also covers a race with its exit.
  if (proc.info().status !== 'running' || !proc.kill(number)) {
    throw new HttpError('PROCESS_NOT_RUNNING', `Process ${ctx.params[0]} is not running`)
  }
  ctx.audit({ event: 'signal', pid: proc.pid, signal: number })
  sendJson(ctx.res, 200, { success: true })
}

/** `POST /processes/{pid}/stdin/close`: EOF on stdin; closing twice is fine. */
export async function closeStdin(ctx: RouteContext): Promise<void> {
  const t = targetOf(ctx, ctx.params[0])
  // A managed process between runs has no stdin at all (docs/protocol.md
  // "Managed processes": "Operations").
  if (t.managed !== undefined && !t.run.running) throw stdinNotWritable(ctx.params[0])
  t.run.closeStdin()
  ctx.audit({ event: 'stdin_close', pid: t.run.pid })
  sendEmpty(ctx.res, 204)
}

/**
 * `GET /processes/{pid}/{stdout|stderr|output}`: the retained lines, plus sandproc's
 * `dropped`, the number of older lines the retention bound removed. A process started by
 * `run` retains nothing, so it has no lines.
 */
export async function snapshot(ctx: RouteContext): Promise<void> {
  const t = targetOf(ctx, ctx.params[0])
  const view = ctx.params[1] as LogView
  // A managed process has one log across its runs; the snapshot's pid is the current run's.
  const log = t.managed?.log ?? t.run.log
  const snap: LogSnapshot = log?.snapshot(view) ?? { lines: [], dropped: 0 }
  const pid = t.managed?.info().pid ?? t.run.pid
  // Head and tail retained: where the gap is (docs/endings.md).
  const gap = snap.truncatedAfter === undefined ? {} : { truncated_after: snap.truncatedAfter }
  if (t.run.encoding === 'base64') {
    const chunks = snap.lines.map((ev) => (ev.data ?? Buffer.alloc(0)).toString('base64'))
    sendJson(ctx.res, 200, { pid, chunks, chunk_count: chunks.length, dropped: snap.dropped, ...gap })
    return
  }
  const lines = snap.lines.map((ev) => ev.line)
  sendJson(ctx.res, 200, { pid, lines, line_count: lines.length, dropped: snap.dropped, ...gap })
}

/**
 * A signal number from a request: an integer 1..64. Names ("TERM", "SIGTERM") are refused
 * like any other non-number (docs/server.md, "Wire format").
 *
 * @throws HttpError 400 `INVALID_REQUEST`.
 */
export function parseSignal(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_SIGNAL) {
    return value
  }
  throw new HttpError('INVALID_REQUEST', `signal must be a signal number from 1 to ${MAX_SIGNAL}`)
}

function stdinNotWritable(pid: string): HttpError {
  return new HttpError('STDIN_NOT_WRITABLE', `Process ${pid} has no writable stdin`)
}
