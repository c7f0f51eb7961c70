/**
 * `POST /processes/{pid}/stdin` with a bounded queue per process (docs/bounds.md): the
 * bytes of every stdin request a process has not taken yet, read or announced, count
 * against `maxStdinQueueBytes`; one more is 429 `STDIN_QUEUE_FULL` before its body is
 * read. A body goes to the pipe a slice at a time, each once the pipe took the last, and
 * the requests of one process in the order their bodies completed; when a client goes
 * away, what the pipe has not taken of its body is dropped and freed.
 */
import type { SupervisedProcess } from '../../core/process.js'
import { readBody, sendEmpty } from '../http/body.js'
import type { RouteContext } from '../http/context.js'
import { errorCode } from '../../errors.js'
import { HttpError } from '../http/errors.js'
import { targetOf } from './target.js'

/** Default bound of the bytes queued for one process's stdin: two of the largest writes. */
export const DEFAULT_MAX_STDIN_QUEUE_BYTES = 32 * 1024 * 1024

/** Bytes handed to the pipe at once: what a client that goes away can leave behind. */
const SLICE_BYTES = 64 * 1024

/** What is queued for one process's stdin. */
interface StdinQueue {
  /** Bytes of requests in progress that the pipe has not taken. */
  bytes: number
  /** Settles when the last request in line has finished writing. */
  tail: Promise<void>
}

const queues = new WeakMap<SupervisedProcess, StdinQueue>()

/** Bytes queued for `proc`'s stdin by requests in progress (for tests and metrics). */
export function stdinQueuedBytes(proc: SupervisedProcess): number {
  return queues.get(proc)?.bytes ?? 0
}

export async function writeStdin(ctx: RouteContext): Promise<void> {
  const { maxStdinBytes, maxStdinQueueBytes } = ctx.settings
  const proc = targetOf(ctx, ctx.params[0]).run
  // Refuse before reading what may be 16 MiB that nobody can take.
  if (!proc.info().stdin_writable) throw stdinNotWritable(ctx.params[0])
  const queue = queues.get(proc) ?? { bytes: 0, tail: Promise.resolve() }
  queues.set(proc, queue)
  // A chunked body may be as large as the limit: count that much until it is read.
  const declared = Number(ctx.req.headers['content-length'] ?? Number.NaN)
  let held = Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, maxStdinBytes) : maxStdinBytes
  if (queue.bytes + held > maxStdinQueueBytes) {
    ctx.req.resume()
    throw new HttpError(
      'STDIN_QUEUE_FULL',
      `Stdin queue of process ${ctx.params[0]} is full (${maxStdinQueueBytes} bytes)`,
    )
  }
  queue.bytes += held
  // Settles when the client goes away before its answer: no write waits on it after that.
  let gone = false
  let onGone!: () => void
  const goneP = new Promise<void>((resolve) => (onGone = resolve))
  const onClose = (): void => {
    if (ctx.res.writableFinished) return
    gone = true
    onGone()
  }
  ctx.res.on('close', onClose)
  try {
    const data = await readBody(ctx.req, maxStdinBytes)
    queue.bytes -= held - data.length
    held = data.length
    const before = queue.tail
    let finished!: () => void
    queue.tail = new Promise((resolve) => (finished = resolve))
    try {
      await Promise.race([before, goneP])
      for (let at = 0; at < data.length && !gone; at += SLICE_BYTES) {
        // A copy: a view would keep the whole body alive while the pipe holds the slice.
        const slice = Buffer.from(data.subarray(at, at + SLICE_BYTES))
        await Promise.race([proc.write(slice), goneP])
        queue.bytes -= slice.length
        held -= slice.length
      }
    } finally {
      finished()
    }
  } catch (err) {
    // The child closed its end (EPIPE) or exited while the body was arriving.
    if (errorCode(err) === 'STDIN_NOT_WRITABLE' || errorCode(err) === 'EPIPE' || !proc.stdinWritable) {
      throw stdinNotWritable(ctx.params[0])
    }
    throw err
  } finally {
    queue.bytes -= held
    ctx.res.off('close', onClose)
  }
  if (!gone) sendEmpty(ctx.res, 204)
}

function stdinNotWritable(pid: string): HttpError {
  return new HttpError('STDIN_NOT_WRITABLE', `Process ${pid} has no writable stdin`)
}
