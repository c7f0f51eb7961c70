/**
 * Reads one output pipe of a child and turns it into lines. The native reader polls the
 * pipe on the main loop and hands over each read (up to 64 KiB) as it happens; pausing
 * it stops reading, so that the child blocks on a full pipe (backpressure).
 */
import type { NativeBinding, NativePipeReader } from '../native.js'
import type { StreamName } from '../types.js'

/** A line (string), or with `output_encoding: "base64"` one read's exact bytes. */
export type LineSink = (piece: string | Buffer, stream: StreamName, timestamp: number) => void

/** What turns a pipe's bytes into pieces: a LineSplitter (lines.ts) or {@link ChunkCopier}. */
export interface Splitter {
  push(chunk: Uint8Array, emit: (piece: string | Buffer) => void): void
  end(emit: (piece: string | Buffer) => void): void
  /** Bytes read and not yet emitted (a live upgrade hands them over). */
  pending?: Buffer
}

/** Bytes as they were read: each read becomes one piece, copied (the reader reuses its buffer). */
export class ChunkCopier implements Splitter {
  push(chunk: Uint8Array, emit: (piece: Buffer) => void): void {
    if (chunk.length > 0) emit(Buffer.from(chunk))
  }

  end(): void {}
}

export class OutputPipe {
  /** True once EOF was seen (or the pipe was given up) and the last line emitted. */
  ended = false
  /** Bytes read so far (for the output metrics). */
  bytes = 0
  readonly stream: StreamName
  readonly #reader: NativePipeReader
  readonly #splitter: Splitter
  readonly #emit: (piece: string | Buffer) => void
  readonly #done: () => void
  #ts = 0
  /** Bytes still allowed once the pipe is read to its end regardless of pauses. */
  #budget = Infinity

  constructor(
    native: NativeBinding,
    fd: number,
    stream: StreamName,
    splitter: Splitter,
    sink: LineSink,
    onEnd: () => void,
    clock: () => number,
  ) {
    this.#splitter = splitter
    this.stream = stream
    // One closure for the pipe's life; the chunk's timestamp is read from a field.
    this.#emit = (piece) => sink(piece, stream, this.#ts)
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
        this.#budget -= chunk.length
        if (this.#budget <= 0) this.destroy()
      },
      this.#done,
    )
  }

  pause(): void {
    if (this.#budget === Infinity) this.#reader.pause()
  }

  resume(): void {
    this.#reader.resume()
  }

  /** Reads on to EOF whatever pauses come, giving up after `limit` more bytes. */
  readToEnd(limit: number): void {
    if (this.ended) return
    this.#budget = limit
    this.#reader.resume()
  }

  ref(): void {
    this.#reader.ref()
  }

  unref(): void {
    this.#reader.unref()
  }

  /** What a live upgrade hands over: the bytes read and the line in progress. */
  get handover(): { bytes: number; pending: Buffer } {
    return { bytes: this.bytes, pending: this.#splitter.pending ?? Buffer.alloc(0) }
  }

  set handover(state: { bytes: number; pending: Buffer }) {
    this.bytes = state.bytes
    if (this.#splitter.pending !== undefined) this.#splitter.pending = state.pending
  }

  /** Gives up on the pipe (a descendant escaped and holds it open): emit what is pending. */
  destroy(): void {
    this.#reader.close()
    this.#done()
  }
}
