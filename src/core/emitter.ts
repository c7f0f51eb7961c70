/**
 * How a process's events reach its consumers: EventEmitter listeners, the `started` and
 * `exited` promises, and any number of async iterators, all in one order. The process
 * lifecycle itself is in process.ts; this class only fans its events out.
 */
import { EventEmitter } from 'node:events'

import type { CodedError } from '../errors.js'
import type { DroppedEvent, ExitEvent, OutputEvent, ProcessEvent, StartEvent } from '../types.js'
import { EventQueue } from './event-queue.js'

const noop = (): void => {}

export abstract class ProcessEmitter extends EventEmitter implements AsyncIterable<ProcessEvent> {
  /** Resolves with the start event; rejects with the spawn error (never unhandled). */
  readonly started: Promise<StartEvent>
  /** Resolves with the exit event; rejects with the spawn error (never unhandled). */
  readonly exited: Promise<ExitEvent>

  #resolveStart!: (e: StartEvent) => void
  #rejectStart!: (e: Error) => void
  #resolveExit!: (e: ExitEvent) => void
  #rejectExit!: (e: Error) => void
  #last: ExitEvent | CodedError | null = null
  #waiters = new Set<EventQueue>()

  constructor() {
    super()
    this.started = new Promise((res, rej) => ((this.#resolveStart = res), (this.#rejectStart = rej)))
    this.exited = new Promise((res, rej) => ((this.#resolveExit = res), (this.#rejectExit = rej)))
    // A caller may use only events or only iteration: these must never crash it.
    this.started.catch(noop)
    this.exited.catch(noop)
  }

  /** Stops reading output until as many resumes; iterators use it for backpressure. */
  abstract pause(): void
  abstract resume(): void

  protected deliverStart(ev: StartEvent): void {
    this.#resolveStart(ev)
    this.#deliver('start', ev)
  }

  protected deliverOutput(ev: OutputEvent): void {
    this.#deliver('output', ev)
  }

  /** `max_output_bytes` dropped output of a stream (emitted as `dropped`). */
  protected deliverDropped(ev: DroppedEvent): void {
    this.#deliver('dropped', ev)
  }

  protected deliverExit(ev: ExitEvent): void {
    this.#last = ev
    this.#deliver('exit', ev)
    this.#resolveExit(ev)
  }

  /** The program could not start: `error` goes only to listeners that asked for it. */
  protected deliverError(err: CodedError): void {
    this.#last = err
    this.#rejectStart(err)
    this.#rejectExit(err)
    for (const w of this.#waiters) w.push(err)
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  [Symbol.asyncIterator](): AsyncIterator<ProcessEvent> {
    const queue: EventQueue = new EventQueue({
      pause: () => this.pause(),
      resume: () => this.resume(),
      isLast: (ev) => ev === this.#last,
      onFinish: () => this.#waiters.delete(queue),
    })
    // Created after the end: the sequence still ends with the exit event (the earlier
    // events are gone; `log` keeps the output of start()ed processes).
    if (this.#last !== null) queue.push(this.#last)
    else this.#waiters.add(queue)
    return queue
  }

  #deliver(name: 'start' | 'output' | 'dropped' | 'exit', ev: ProcessEvent): void {
    for (const w of this.#waiters) w.push(ev)
    this.emit(name, ev)
  }
}
