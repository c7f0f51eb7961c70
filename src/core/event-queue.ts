/**
 * One async iteration of a process's events: a queue filled by the process and drained
 * by `for await`. It applies backpressure: when the consumer falls far behind, the
 * process's pipes pause until it catches up.
 */
import type { ProcessEvent } from '../types.js'

// Counted in events and in line characters: 4096 lines of 64 KiB would be 256 MiB.
const HIGH_EVENTS = 4096
const HIGH_CHARS = 1024 * 1024

export interface EventQueueHooks {
  pause(): void
  resume(): void
  /** The event after which the iteration ends (the exit event). */
  isLast(ev: ProcessEvent): boolean
  /** The iteration ended (last event taken, error thrown, or return()). */
  onFinish(): void
}

export class EventQueue implements AsyncIterator<ProcessEvent> {
  readonly #hooks: EventQueueHooks
  readonly #queue: Array<ProcessEvent | Error> = []
  #wake: (() => void) | null = null
  #done = false
  #chars = 0
  #paused = false

  constructor(hooks: EventQueueHooks) {
    this.#hooks = hooks
  }

  /** An event, or the spawn error to throw. */
  push(ev: ProcessEvent | Error): void {
    this.#queue.push(ev)
    if ('line' in ev) this.#chars += ev.line.length
    if (!this.#paused && (this.#queue.length >= HIGH_EVENTS || this.#chars >= HIGH_CHARS)) {
      this.#paused = true
      this.#hooks.pause()
    }
    this.#wake?.()
  }

  async next(): Promise<IteratorResult<ProcessEvent>> {
    while (this.#queue.length === 0 && !this.#done) await new Promise<void>((r) => (this.#wake = r))
    this.#wake = null
    const ev = this.#queue.shift()
    if (ev !== undefined && 'line' in ev) this.#chars -= ev.line.length
    if (this.#paused && this.#queue.length < HIGH_EVENTS / 2 && this.#chars < HIGH_CHARS / 2) {
      this.#paused = false
      this.#hooks.resume()
    }
    if (ev === undefined) return { value: undefined, done: true }
    if (ev instanceof Error) {
      this.#finish()
      throw ev
    }
    if (this.#hooks.isLast(ev)) this.#finish()
    return { value: ev, done: false }
  }

  async return(): Promise<IteratorResult<ProcessEvent>> {
    this.#finish()
    return { value: undefined, done: true }
  }

  #finish(): void {
    if (this.#done) return
    this.#done = true
    if (this.#paused) this.#hooks.resume()
    this.#paused = false
    this.#hooks.onFinish()
  }
}
