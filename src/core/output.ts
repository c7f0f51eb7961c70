/**
 * A child's two output pipes as one unit: their readers, the line splitting, one
 * timestamp per read chunk, counted pauses (backpressure), and the drain grace after
 * the reap (drain.ts). {@link SupervisedProcess} asks it only "has everything ended?".
 */
import type { NativeBinding } from '../native.js'
import type { OutputEvent, StreamName } from '../types.js'
import { DrainGuard } from './drain.js'
import { LineSplitter } from './lines.js'
import { OutputPipe } from './pipe.js'

export interface OutputOptions {
  native: NativeBinding
  lineLimit: number
  drainGraceMs: number
  onLine: (ev: OutputEvent) => void
  /** A pipe ended (EOF, or given up after the grace period). */
  onEnd: () => void
}

export class ProcessOutput {
  readonly #opts: OutputOptions
  readonly #drain: DrainGuard
  #pipes: OutputPipe[] = []
  #pauses = 0
  #lastTs = 0

  constructor(opts: OutputOptions) {
    this.#opts = opts
    this.#drain = new DrainGuard(opts.drainGraceMs, () => this.#pauses > 0, this.#giveUp)
  }

  /** Starts reading the child's pipes (a negative fd is a stream not captured). */
  open(stdoutFd: number, stderrFd: number, startedAt: number): void {
    this.#lastTs = startedAt
    const { native, lineLimit, onEnd } = this.#opts
    const streams: Array<[number, StreamName]> = [[stdoutFd, 'stdout'], [stderrFd, 'stderr']]
    for (const [fd, name] of streams) {
      if (fd < 0) continue
      const pipe = new OutputPipe(native, fd, name, new LineSplitter(lineLimit), this.#onLine, onEnd, this.#now)
      if (this.#pauses > 0) pipe.pause()
      this.#pipes.push(pipe)
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

  /** The main process was reaped and its tree killed: start the drain grace. */
  afterReap(): void {
    this.#drain.arm()
  }

  /** The exit is being delivered: no more grace timers. */
  finish(): void {
    this.#drain.clear()
  }

  #giveUp = (): void => {
    for (const p of this.#pipes) p.destroy()
    this.#opts.onEnd()
  }

  #onLine = (line: string, stream: StreamName, timestamp: number): void => {
    this.#opts.onLine({ line, timestamp, stream })
  }

  /** One timestamp per read chunk, never going backwards. */
  #now = (): number => {
    this.#drain.noteData()
    const t = Date.now()
    if (t > this.#lastTs) this.#lastTs = t
    return this.#lastTs
  }
}
