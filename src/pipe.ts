/**
 * Reads one output pipe of a child and turns it into lines. The pipe is a libuv stream
 * (net.Socket over the fd): reads are event-driven on the main loop, 64 KiB at a time,
 * and pausing it stops reading so that the child blocks on a full pipe (backpressure).
 */
import net from 'node:net'

import type { LineSplitter } from './lines.js'
import type { StreamName } from './types.js'

export type LineSink = (line: string, stream: StreamName, timestamp: number) => void

export class OutputPipe {
  /** True once EOF was seen (or the pipe was given up) and the last line emitted. */
  ended = false
  readonly #socket: net.Socket
  readonly #splitter: LineSplitter
  readonly #emit: (line: string) => void
  #ts = 0

  constructor(fd: number, stream: StreamName, splitter: LineSplitter, sink: LineSink, onEnd: () => void, clock: () => number) {
    this.#splitter = splitter
    // One closure for the pipe's life; the chunk's timestamp is read from a field.
    this.#emit = (line) => sink(line, stream, this.#ts)
    const done = (): void => {
      if (this.ended) return
      this.#ts = clock()
      this.#splitter.end(this.#emit)
      this.ended = true
      onEnd()
    }
    this.#socket = new net.Socket({ fd, readable: true, writable: false })
    this.#socket.on('data', (chunk: Buffer) => {
      this.#ts = clock()
      this.#splitter.push(chunk, this.#emit)
    })
    this.#socket.on('end', done)
    this.#socket.on('close', done)
    // A read error on our own pipe (EIO is the only plausible one) ends the stream.
    this.#socket.on('error', done)
  }

  pause(): void {
    this.#socket.pause()
  }

  resume(): void {
    this.#socket.resume()
  }

  ref(): void {
    this.#socket.ref()
  }

  unref(): void {
    this.#socket.unref()
  }

  /** Gives up on the pipe (a descendant escaped and holds it open): emit what is pending. */
  destroy(): void {
    this.#socket.destroy()
  }
}
