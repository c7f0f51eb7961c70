/**
 * The event-stream endpoints: `POST /processes/run` and the three follow endpoints.
 */
import type { ServerResponse } from 'node:http'
import type { LogView } from '../../core/retain.js'
import { readJsonObject, sendError } from '../http/body.js'
import type { Handler, RouteContext } from '../http/context.js'
import { checkCapacity } from '../processes/capacity.js'
import { spawnErrorResponse } from '../../errors.js'
import { HttpError } from '../http/errors.js'
import { followEventStream, runEventStream, type EventStream } from './streams.js'
import { SSE_HEADERS } from './frames.js'
import type { RunRequest } from '../../types.js'
import { targetOf } from '../processes/target.js'
import { exact, PARAM, type Route } from '../http/router.js'

/**
 * The event-stream routes under `prefix` (`/api/v1`). `processes/run` must be matched
 * before the processes room's `processes/{id}`, which would take `run` for an id.
 */
export function sseRoutes(prefix: string): Route<Handler>[] {
  return [
    { pattern: exact(`${prefix}/processes/run`), methods: { POST: run } },
    { pattern: exact(`${prefix}/processes/${PARAM}/(stdout|stderr|output)/follow`), methods: { GET: follow } },
  ]
}

/**
 * `POST /processes/run`. Nothing is sent until the program has started, so a program
 * that cannot start gets a JSON error (422, or 400 for an unknown user) instead of a
 * stream.
 */
export async function run(ctx: RouteContext): Promise<void> {
  const body = await readJsonObject(ctx.req, ctx.settings.maxJsonBytes)
  checkCapacity(ctx)
  // `run` always closes stdin and captures both streams, whatever the body says
  // (Tensorlake's run page: "even if stdin_mode, stdout_mode, or stderr_mode are
  // present").
  const request = { ...body }
  delete request.stdin_mode
  delete request.stdout_mode
  // Merging is sandproc's output format, not a stdio mode: `run` takes it (docs/endings.md).
  if (request.stderr_mode !== 'stdout') delete request.stderr_mode
  const proc = ctx.sup.run(request as unknown as RunRequest)
  const stream = runEventStream(proc, streamOptions(ctx))
  try {
    await proc.started
  } catch (err) {
    sendError(ctx.res, spawnErrorResponse(err))
    return
  }
  // Tracked for a live upgrade, which carries the stream on its connection (docs/upgrade.md).
  const untrack = ctx.runStreams.add(proc, stream, ctx.res)
  try {
    await pipeToResponse(stream, ctx.res)
  } finally {
    untrack()
  }
}

/** `GET /processes/{pid}/{stdout|stderr|output}/follow`, honouring `Last-Event-ID`. */
export async function follow(ctx: RouteContext): Promise<void> {
  const t = targetOf(ctx, ctx.params[0])
  const view = ctx.params[1] as LogView
  const after = lastEventId(ctx.req.headers['last-event-id'])
  // A managed process's follow reads its one log across runs, to `eof` at `stopped`.
  const source = t.managed === undefined ? t.run : { log: t.managed.log, exited: t.run.exited }
  await pipeToResponse(followEventStream(source, view, { ...streamOptions(ctx), after }), ctx.res)
}

/**
 * The id to resume after: a reconnecting client sends back the last `id:` it saw.
 *
 * @throws HttpError 400 `INVALID_REQUEST` for anything but a non-negative integer.
 */
export function lastEventId(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined
  const text = (Array.isArray(header) ? (header[0] ?? '') : header).trim()
  if (text === '') return undefined
  if (!/^[0-9]{1,15}$/.test(text)) {
    throw new HttpError('INVALID_REQUEST', 'Last-Event-ID must be a line id (a non-negative integer)')
  }
  return Number(text)
}

function streamOptions(ctx: RouteContext): { keepAliveMs: number; highWaterMark: number } {
  return { keepAliveMs: ctx.settings.keepAliveMs, highWaterMark: ctx.settings.highWaterMark }
}

/**
 * Sends an event stream: headers at once, then each chunk with one `write`. While the
 * socket does not take more (`write` returned false) no chunk is pulled, so the stream's
 * own bound holds the producer back. A client that goes away stops the stream (which
 * kills a `run` process).
 */
async function pipeToResponse(stream: EventStream, res: ServerResponse): Promise<void> {
  const onClose = (): void => {
    if (!res.writableFinished) void stream.return()
  }
  res.on('close', onClose)
  if (res.destroyed) {
    // Gone while the program was starting.
    await stream.return()
    return
  }
  res.writeHead(200, SSE_HEADERS)
  res.flushHeaders()
  try {
    await pump(stream, res)
  } finally {
    res.off('close', onClose)
  }
}

/** The part of a response {@link pump} writes to: a `ServerResponse`, or a carried one. */
export interface BodySink {
  write(chunk: Uint8Array): boolean
  end(): unknown
  destroy(): unknown
  readonly destroyed: boolean
  on(event: 'drain' | 'close', listener: () => void): unknown
  off(event: 'drain' | 'close', listener: () => void): unknown
}

/**
 * Writes the chunks of `stream` to `res` (headers sent), one `write` each, pulling none
 * while the socket does not take more, and ends it.
 */
export async function pump(stream: EventStream & { written?: () => void }, res: BodySink): Promise<void> {
  try {
    for await (const chunk of stream) {
      const more = res.write(chunk)
      stream.written?.()
      if (!more) await drainOrClose(res)
      if (res.destroyed) break
    }
    if (!res.destroyed) res.end()
  } catch (err) {
    // Headers are out: the only honest signal left is an abrupt end of the stream.
    res.destroy()
    throw err
  }
}

function drainOrClose(res: BodySink): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}
