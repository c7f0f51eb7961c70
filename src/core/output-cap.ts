/**
 * `max_output_bytes` of a `run` (docs/endings.md): the first half of the budget goes out
 * live; past it output events stop, the last half (whole lines) is kept in a bounded
 * queue and handed out just before the exit, after one count of what was dropped per
 * stream. The program is never slowed or killed for it: kept lines are never waited on.
 */
import type { DroppedEvent, OutputEvent, StreamName } from '../types.js'

/** Bytes an event stands for: the line and its newline, or a chunk's bytes. */
function bytesOf(ev: OutputEvent): number {
  return ev.data === undefined ? Buffer.byteLength(ev.line) + 1 : ev.data.length
}

export class OutputCap {
  readonly #liveMax: number
  readonly #keepMax: number
  #live = 0
  #kept: OutputEvent[] = []
  /** Bytes of each kept event, so a drop need not measure it again. */
  #sizes: number[] = []
  #keptHead = 0
  #keptBytes = 0
  readonly #dropped: Record<StreamName, { lines: number; bytes: number }> = {
    stdout: { lines: 0, bytes: 0 },
    stderr: { lines: 0, bytes: 0 },
  }

  constructor(maxBytes: number) {
    this.#liveMax = Math.floor(maxBytes / 2)
    this.#keepMax = maxBytes - this.#liveMax
  }

  /** True when `ev` goes out now; otherwise it is kept for the end (or dropped). */
  admit(ev: OutputEvent): boolean {
    const n = bytesOf(ev)
    if (this.#keptBytes === 0 && this.#live + n <= this.#liveMax) {
      this.#live += n
      return true
    }
    // Once past the head nothing goes out live again, so the order stays exact.
    this.#live = this.#liveMax
    this.#kept.push(ev)
    this.#sizes.push(n)
    this.#keptBytes += n
    while (this.#keptBytes > this.#keepMax) {
      const b = this.#sizes[this.#keptHead]
      const d = this.#dropped[this.#kept[this.#keptHead].stream]
      this.#keptHead++
      this.#keptBytes -= b
      d.lines++
      d.bytes += b
    }
    if (this.#keptHead > 4096 && this.#keptHead * 2 > this.#kept.length) {
      this.#kept = this.#kept.slice(this.#keptHead)
      this.#sizes = this.#sizes.slice(this.#keptHead)
      this.#keptHead = 0
    }
    return false
  }

  /** True once anything was dropped: the exit says `truncated: true`. */
  get truncated(): boolean {
    return this.#dropped.stdout.lines + this.#dropped.stderr.lines > 0
  }

  /** At the end: the drop counts (one per stream that lost lines), then the kept tail. */
  drain(): { dropped: DroppedEvent[]; tail: OutputEvent[] } {
    const dropped: DroppedEvent[] = []
    for (const stream of ['stdout', 'stderr'] as const) {
      const d = this.#dropped[stream]
      if (d.lines > 0) dropped.push({ dropped_lines: d.lines, dropped_bytes: d.bytes, stream })
    }
    const tail = this.#kept.slice(this.#keptHead)
    this.#kept = []
    this.#sizes = []
    this.#keptHead = 0
    return { dropped, tail }
  }
}
