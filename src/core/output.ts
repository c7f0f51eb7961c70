/**
 * A child's two output pipes as one unit: their readers, the line splitting, one
 * timestamp per read chunk, counted pauses (backpressure). {@link SupervisedProcess}
 * asks it "has everything ended?" and, for the drain after the reap (drain.ts), "is the
 * consumer holding it?".
 */
import type { NativeBinding } from '../native.js'
import type { OutputEncoding, OutputEvent, StreamName } from '../types.js'
import { LineSplitter } from './lines.js'
import { ChunkCopier, OutputPipe } from './pipe.js'

export interface OutputOptions {
  native: NativeBinding
  lineLimit: number
  encoding: OutputEncoding
  /** Bytes were read (once per read, before its lines). */
  onData: () => void
  onLine: (ev: OutputEvent) => void
  /** A pipe ended (EOF, or given up after the grace period). */
  onEnd: () => void
}

/** The most a pipe can hold (Linux's default `pipe-max-size`): all a killed tree can leave. */
export const END_READ_LIMIT = 1024 * 1024

export class ProcessOutput {
  readonly #opts: OutputOptions
  #pipes: OutputPipe[] = []
  #pauses = 0
  #lastTs = 0
  #ending = false

  constructor(opts: OutputOptions) {
    this.#opts = opts
  }

  /** Starts reading the child's pipes (a negative fd is a stream not captured). */
  open(stdoutFd: number, stderrFd: number, startedAt: number): void {
    this.#lastTs = startedAt
    const { native, lineLimit, encoding, onEnd } = this.#opts
    const streams: Array<[number, StreamName]> = [
      [stdoutFd, 'stdout'],
      [stderrFd, 'stderr'],
    ]
    for (const [fd, name] of streams) {
      if (fd < 0) continue
      const pipe = new OutputPipe(
        native,
        fd,
        name,
        encoding === 'base64' ? new ChunkCopier() : new LineSplitter(lineLimit),
        this.#onLine,
        onEnd,
        this.#now,
      )
      if (this.#pauses > 0) pipe.pause()
      this.#pipes.push(pipe)
    }
  }

  /** Per open stream: what a live upgrade hands over (docs/upgrade.md). */
  handover(): Partial<Record<StreamName, { bytes: number; pending: Buffer }>> {
    const out: Partial<Record<StreamName, { bytes: number; pending: Buffer }>> = {}
    for (const p of this.#pipes) if (!p.ended) out[p.stream] = p.handover
    return out
  }

  /** Continues the old server's pipes: their byte counts and lines in progress. */
  continueFrom(state: Partial<Record<StreamName, { bytes: number; pending: Buffer }>>): void {
    for (const p of this.#pipes) {
      const s = state[p.stream]
      if (s !== undefined) p.handover = s
    }
  }

  /** True once every pipe reached EOF or was given up. */
  get ended(): boolean {
    return this.#pipes.every((p) => p.ended)
  }

  /** Bytes read from `stream` so far. */
  bytesRead(stream: StreamName): number {
    let n = 0
    for (const p of this.#pipes) if (p.stream === stream) n += p.bytes
    return n
  }

  get paused(): boolean {
    return this.#pauses > 0
  }

  /** Paused by the consumer and not read to the end regardless: its output may not be dropped. */
  get held(): boolean {
    return this.#pauses > 0 && !this.#ending
  }

  /** Stops reading, so a slow consumer slows the process. Each pause needs a resume. */
  pause(): void {
    if (this.#pauses++ === 0) for (const p of this.#pipes) p.pause()
  }

  resume(): void {
    if (this.#pauses === 0) return
    if (--this.#pauses === 0) for (const p of this.#pipes) p.resume()
  }

  setRef(refed: boolean): void {
    for (const p of this.#pipes) p[refed ? 'ref' : 'unref']()
  }

  /**
   * The supervisor killed the tree and it is reaped: nothing can fill the pipes any more,
   * so what they hold (at most their capacity) is read whatever the consumer does, and a
   * consumer that stopped reading cannot hold the exit back (docs/bounds.md). Reading
   * stops for good past {@link END_READ_LIMIT} bytes a pipe (a writer that escaped).
   */
  readToEnd(): void {
    if (this.#ending) return
    this.#ending = true
    for (const p of this.#pipes) p.readToEnd(END_READ_LIMIT)
  }

  /** Stops reading pipes that something outside the tree still holds open. */
  giveUp(): void {
    for (const p of this.#pipes) p.destroy()
  }

  #onLine = (piece: string | Buffer, stream: StreamName, timestamp: number): void => {
    this.#opts.onLine(
      typeof piece === 'string' ? { line: piece, timestamp, stream } : { line: '', data: piece, timestamp, stream },
    )
  }

  /** One timestamp per read chunk, never going backwards. */
  #now = (): number => {
    this.#opts.onData()
    const t = Date.now()
    if (t > this.#lastTs) this.#lastTs = t
    return this.#lastTs
  }
}
