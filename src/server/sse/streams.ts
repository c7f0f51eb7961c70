/**
 * A process's events as SSE byte streams, ready for any HTTP framework: an async iterable
 * of chunks (one chunk per batch of events, so one socket write per read of the pipes)
 * and its web `ReadableStream` form.
 */
import { ReadableStream } from 'node:stream/web'
import type { SupervisedProcess } from '../../core/process.js'
import type { LogView } from '../../core/retain.js'
import { FrameBatch } from './batch.js'
import { ChunkQueue } from './queue.js'
import { commentFrame, dataFrame, eventFrame, outputFrame } from './frames.js'
import type { DroppedEvent, ExitEvent, OutputEvent, StartEvent } from '../../types.js'

/**
 * Default quiet time before a `: keep-alive` comment (docs/protocol.md
 * "Event streams").
 */
export const DEFAULT_KEEP_ALIVE_MS = 15_000
/** Bytes a stream holds for a slow reader before it pauses the process's pipes. */
export const DEFAULT_HIGH_WATER_MARK = 64 * 1024

/**
 * An event stream: an async iterable of SSE byte chunks whose `return()` (what `for
 * await` calls on `break`) stops it early.
 */
export interface EventStream extends AsyncIterableIterator<Uint8Array> {
  return(): Promise<IteratorResult<Uint8Array>>
}

/**
 * A `run` stream, which a live upgrade can carry to the new program (docs/upgrade.md):
 * its consumer reports each chunk written, so what was produced and not yet sent is known.
 */
export interface RunEventStream extends EventStream {
  /** The chunk taken last is written (to the socket, which took it all). */
  written(): void
  /** What was produced and not yet written, and whether the exit frame is in it. */
  unsent(): { bytes: Buffer; ended: boolean }
}

/** Options of {@link runEventStream} and {@link followEventStream}. */
export interface StreamOptions {
  /** Quiet time before a `: keep-alive` comment, ms; 0 sends none. Default 15000. */
  keepAliveMs?: number
  /** Unread bytes at which the producer is held back. Default 64 KiB. */
  highWaterMark?: number
}

/** Options of {@link followEventStream}. */
export interface FollowOptions extends StreamOptions {
  /** Resume after this line id (the `Last-Event-ID` of a reconnect). */
  after?: number
  /** Ends the stream early, as the consumer's `return()` does. */
  signal?: AbortSignal
}

/**
 * The `POST /processes/run` stream of `proc`: bare `data:` frames for the start event,
 * every output line and the exit event, then the end.
 *
 * Call it in the same tick as `supervisor.run()` so that no event is missed. The first
 * `next()` waits for the start and throws the spawn error if the program could not be
 * started, before any byte is produced: await `proc.started` first to answer that case
 * with a 422 (see `spawnErrorResponse`). While the reader lags by more than
 * `highWaterMark` bytes the process's pipes are paused; a reader that stops early
 * (`return()`, a cancelled `ReadableStream`) kills the process tree.
 */
export function runEventStream(proc: SupervisedProcess, opts: StreamOptions = {}): RunEventStream {
  let exited = false
  const queue = new ChunkQueue({
    highWaterMark: opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
    keepAliveMs: opts.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS,
    ready: proc.started,
    onPressure: (full) => (full ? proc.pause() : proc.resume()),
    onCancel: () => {
      detach()
      if (!exited) proc.killTree('client_gone')
    },
  })
  const batch = new FrameBatch(queue)
  const onStart = (ev: StartEvent): void => batch.add(dataFrame(ev))
  const onOutput = (ev: OutputEvent): void => batch.add(outputFrame(ev))
  const onDropped = (ev: DroppedEvent): void => batch.add(dataFrame(ev))
  const onExit = (ev: ExitEvent): void => {
    exited = true
    detach()
    batch.add(dataFrame(ev))
    batch.close()
  }
  const detach = (): void => {
    proc.off('start', onStart)
    proc.off('output', onOutput)
    proc.off('dropped', onDropped)
    proc.off('exit', onExit)
  }
  proc.on('start', onStart)
  proc.on('output', onOutput)
  proc.on('dropped', onDropped)
  proc.on('exit', onExit)
  proc.started.catch(detach)
  return Object.assign(queue, {
    unsent: () => ({
      bytes: Buffer.concat([...queue.unsentChunks(), Buffer.from(batch.pending, 'utf8')]),
      ended: exited,
    }),
  })
}

/**
 * A follow stream (docs/protocol.md "Event streams") of `view` of `proc`'s retained
 * output: `event: output` frames with `id: N` (replay, then live), then `event: eof`
 * once the process has exited and its output is drained. A gap in the ids (lines
 * dropped by the retention bound) is announced by a `: dropped N` comment. A process
 * without retained output (one started by `run`) gets its `eof` when it exits.
 */
export function followEventStream(
  proc: Pick<SupervisedProcess, 'log' | 'exited'>,
  view: LogView,
  opts: FollowOptions = {},
): EventStream {
  const abort = new AbortController()
  const stop = (): void => abort.abort()
  opts.signal?.addEventListener('abort', stop, { once: true })
  const queue = new ChunkQueue({
    highWaterMark: opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
    keepAliveMs: opts.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS,
    onCancel: stop,
  })
  const batch = new FrameBatch(queue)
  const pump = async (): Promise<void> => {
    const log = proc.log
    if (log === null) {
      await proc.exited.catch(() => undefined)
    } else {
      let expected = (opts.after ?? -1) + 1
      for await (const { id, event } of log.follow(view, opts.after, abort.signal)) {
        if (id > expected) batch.add(commentFrame(`dropped ${id - expected}`))
        expected = id + 1
        batch.add(eventFrame('output', followData(event, view), id))
        // Stop pulling from the log while the reader lags; the log itself is bounded.
        if (queue.full) await queue.drained()
      }
    }
    batch.add(eventFrame('eof', {}))
    batch.close()
  }
  pump()
    .catch((err: unknown) => {
      if (!abort.signal.aborted) queue.fail(err)
    })
    .finally(() => opts.signal?.removeEventListener('abort', stop))
  return queue
}

/**
 * Wraps an async iterable of chunks (such as {@link runEventStream}) as a web
 * `ReadableStream`, pulled only as fast as it is read; cancelling the stream stops the
 * iterable (and so kills a `run` process).
 */
export function toReadableStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const result = await it.next()
        if (result.done === true) controller.close()
        else controller.enqueue(result.value)
      },
      async cancel() {
        await it.return?.()
      },
    },
    { highWaterMark: 0 },
  )
}

function followData(event: OutputEvent, view: LogView): object {
  if (event.data !== undefined) {
    const data = event.data.toString('base64')
    return view === 'output'
      ? { data, timestamp: event.timestamp, stream: event.stream }
      : { data, timestamp: event.timestamp }
  }
  return view === 'output'
    ? { line: event.line, timestamp: event.timestamp, stream: event.stream }
    : { line: event.line, timestamp: event.timestamp }
}
