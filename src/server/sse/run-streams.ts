/**
 * The `run` streams a server is sending, so that a live upgrade can carry them to the
 * new program on the same connections (docs/upgrade.md "What clients see"): a stream
 * whose every written byte has reached the kernel is carried with its socket's fd, the
 * body's framing and the bytes produced and not yet written; any other is cut.
 */
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { SupervisedProcess } from '../../core/process.js'
import { CarriedResponse } from './carried-response.js'
import type { RunEventStream } from './streams.js'

/** One `run` stream as the state of a live upgrade holds it. */
export interface CarriedRun {
  /** The process's handle, which the new program adopts it under. */
  handle: number
  /** The connection's socket, kept open across the execve. */
  fd: number
  chunked: boolean
  keepAlive: boolean
  /** Frames produced and not yet written, base64. */
  unsent: string
  /** The exit frame is among them: the body ends after them. */
  ended: boolean
}

/** What the state says of a server's `run` streams. */
export interface RunStreamsRecord {
  carried: CarriedRun[]
  /** Handles of `run` processes whose stream could not be carried: their client is gone. */
  cut: number[]
}

interface Entry {
  proc: SupervisedProcess
  stream: RunEventStream
  res: ServerResponse | CarriedResponse
}

function socketOf(res: ServerResponse | CarriedResponse): Socket | null {
  return res instanceof CarriedResponse ? res.socket : (res.socket as Socket | null)
}

function fdOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd
  return typeof fd === 'number' ? fd : -1
}

/** Every byte written to the response is in the kernel's socket buffer. */
function flushed(res: ServerResponse | CarriedResponse): boolean {
  const socket = socketOf(res)
  return socket !== null && !socket.destroyed && res.writableLength === 0 && socket.writableLength === 0
}

export class RunStreams {
  readonly #entries = new Set<Entry>()
  /** Entries whose response was carried from an old program (kept, not recounted per stream end). */
  #carried = 0
  #carriedGone: Array<() => void> = []

  /** Tracks a stream while it is sent; returns the function that stops tracking it. */
  add(proc: SupervisedProcess, stream: RunEventStream, res: ServerResponse | CarriedResponse): () => void {
    const entry = { proc, stream, res }
    this.#entries.add(entry)
    const carried = res instanceof CarriedResponse
    if (carried) this.#carried++
    return () => {
      if (!this.#entries.delete(entry) || !carried) return
      if (--this.#carried === 0) for (const resolve of this.#carriedGone.splice(0)) resolve()
    }
  }

  /** Resolves once no carried stream is left (the HTTP server does not wait for them when it closes). */
  carriedDone(): Promise<void> {
    if (this.#carried === 0) return Promise.resolve()
    return new Promise((resolve) => this.#carriedGone.push(resolve))
  }

  get size(): number {
    return this.#entries.size
  }

  /**
   * Resolves once every stream's socket has taken what was written to it, or after
   * `boundMs`: a client that reads keeps up, one that does not will be cut.
   */
  async flushed(boundMs: number): Promise<void> {
    const deadline = performance.now() + boundMs
    for (const e of this.#entries) {
      while (!flushed(e.res) && !e.res.destroyed && performance.now() < deadline) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer)
            e.res.off('drain', done)
            resolve()
          }
          const timer = setTimeout(done, Math.max(1, deadline - performance.now()))
          e.res.on('drain', done)
        })
      }
    }
  }

  /** The state of every stream, read synchronously right before the execve, and the fds to keep. */
  capture(): { record: RunStreamsRecord; keepFds: number[] } {
    const record: RunStreamsRecord = { carried: [], cut: [] }
    const keepFds: number[] = []
    for (const { proc, stream, res } of this.#entries) {
      const socket = socketOf(res)
      const fd = socket === null ? -1 : fdOf(socket)
      if (fd < 0 || !flushed(res)) {
        if (proc.running) record.cut.push(proc.handle)
        continue
      }
      const { bytes, ended } = stream.unsent()
      const framing =
        res instanceof CarriedResponse
          ? res.framing
          : {
              chunked: (res as unknown as { chunkedEncoding: boolean }).chunkedEncoding,
              keepAlive: res.shouldKeepAlive,
            }
      record.carried.push({ handle: proc.handle, fd, ...framing, unsent: bytes.toString('base64'), ended })
      keepFds.push(fd)
    }
    return { record, keepFds }
  }

  /** Cuts every carried connection still open (shutdown: the HTTP server does not know them). */
  destroyCarried(): void {
    for (const { res } of this.#entries) if (res instanceof CarriedResponse) res.destroy()
  }
}
