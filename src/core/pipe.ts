/**
 * Reads one output pipe of a child and turns it into lines. The native reader polls the
 * pipe on the main loop and hands over each read (up to 64 KiB) as it happens; pausing
 * it stops reading, so that the child blocks on a full pipe (backpressure).
 */
import type { LineSplitter } from './lines.js'
import type { NativeBinding, NativePipeReader } from '../native.js'
import type { StreamName } from '../types.js'

export type LineSink = (line: string, stream: StreamName, timestamp: number) => void

export class OutputPipe {
  /** True once EOF was seen (or the pipe was given up) and the last line emitted. */
  ended = false
  /** Bytes read so far (for the output metrics). */
  bytes = 0
  readonly stream: StreamName
  readonly #reader: NativePipeReader
  readonly #splitter: LineSplitter
  readonly #emit: (line: string) => void
  readonly #done: () => void
  #ts = 0

  constructor(
    native: NativeBinding,
    fd: number,
    stream: StreamName,
    splitter: LineSplitter,
    sink: LineSink,
    onEnd: () => void,
    clock: () => number,
  ) {
    this.#splitter = splitter
    this.stream = stream
    // One closure for the pipe's life; the chunk's timestamp is read from a field.
    this.#emit = (line) => sink(line, stream, this.#ts)
    this.#done = (): void => {
      if (this.ended) return
      this.#ts = clock()
      this.#splitter.end(this.#emit)
      this.ended = true
      onEnd()
    }
    // A read error on our own pipe (EIO is the only plausible one) ends the stream too.
    this.#reader = new native.PipeReader(
      fd,
      (chunk) => {
        this.#ts = clock()
        this.bytes += chunk.length
        this.#splitter.push(chunk, this.#emit)
      },
      this.#done,
    )
  }

  pause(): void {
    this.#reader.pause()
  }

  resume(): void {
    this.#reader.resume()
  }

  ref(): void {
    this.#reader.ref()
  }

  unref(): void {
    this.#reader.unref()
  }

  /** Gives up on the pipe (a descendant escaped and holds it open): emit what is pending. */
  destroy(): void {
    this.#reader.close()
    this.#done()
  }
}
