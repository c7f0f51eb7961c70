/**
 * The bounded chunk queue behind every event stream: producers push SSE text, one
 * consumer pulls byte chunks. It tells the producer when it holds too much
 * (`onPressure(true)`), so that a slow reader slows the process instead of growing memory,
 * and it sends keep-alive comments while the stream is quiet.
 */
import { KEEP_ALIVE_FRAME } from './frames.js'

export interface QueueOptions {
  /** Bytes queued and not yet pulled at which `onPressure(true)` fires. */
  highWaterMark: number
  /** Quiet time before a keep-alive comment; 0 sends none. */
  keepAliveMs: number
  /** Awaited before the first chunk is handed out; its rejection is the stream's error. */
  ready?: Promise<unknown>
  /** `true` once too much is queued, `false` once the consumer has caught up. */
  onPressure?: (full: boolean) => void
  /** The consumer stopped before the stream ended (`return()`). */
  onCancel?: () => void
}

type Waiter = {
  resolve: (result: IteratorResult<Uint8Array>) => void
  reject: (err: unknown) => void
}

export class ChunkQueue implements AsyncIterableIterator<Uint8Array> {
  #opts: QueueOptions
  #chunks: Buffer[] = []
  #bytes = 0
  #full = false
  #ended = false
  #failure: { err: unknown } | null = null
  #cancelled = false
  #started = false
  #waiter: Waiter | null = null
  #drainWaiters: Array<() => void> = []
  #timer: NodeJS.Timeout | null = null
  /** The chunk the consumer took and has not yet reported written (see {@link written}). */
  #taken: Buffer | null = null

  constructor(opts: QueueOptions) {
    this.#opts = opts
  }

  /** True while more than the high-water mark waits for the consumer. */
  get full(): boolean {
    return this.#full
  }

  /** True once the consumer has stopped early. */
  get cancelled(): boolean {
    return this.#cancelled
  }

  /** True once `end()` or `fail()` was called: nothing more is queued. */
  get ended(): boolean {
    return this.#ended
  }

  /** The consumer has written the chunk it took last. Asking for the next one says the same. */
  written(): void {
    this.#taken = null
  }

  /**
   * What was produced and not yet written, oldest first: the chunk taken and not reported
   * written, then the queued ones. A live upgrade carries these (docs/upgrade.md).
   */
  unsentChunks(): Buffer[] {
    return this.#taken === null ? [...this.#chunks] : [this.#taken, ...this.#chunks]
  }

  /** Queues `text` as one chunk (one socket write). Ignored after end or cancel. */
  push(text: string): void {
    if (this.#ended || this.#cancelled || text.length === 0) return
    this.#timer?.refresh()
    const chunk = Buffer.from(text, 'utf8')
    if (this.#waiter !== null) {
      const waiter = this.#waiter
      this.#waiter = null
      this.#taken = chunk
      waiter.resolve({ value: chunk, done: false })
      return
    }
    this.#chunks.push(chunk)
    this.#bytes += chunk.length
    if (!this.#full && this.#bytes >= this.#opts.highWaterMark) {
      this.#full = true
      this.#opts.onPressure?.(true)
    }
  }

  /** No more chunks: the consumer gets what is queued, then `done`. */
  end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#settleWaiter()
  }

  /** Ends the stream with an error, after what is already queued. */
  fail(err: unknown): void {
    if (this.#ended) return
    this.#failure = { err }
    this.end()
  }

  /** Resolves once the queue is below its high-water mark again, or cancelled. */
  drained(): Promise<void> {
    if (!this.#full || this.#cancelled) return Promise.resolve()
    return new Promise((resolve) => this.#drainWaiters.push(resolve))
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    this.#taken = null
    if (!this.#started) {
      this.#started = true
      if (this.#opts.ready !== undefined) {
        try {
          await this.#opts.ready
        } catch (err) {
          this.#stop()
          throw err
        }
      }
      this.#startKeepAlive()
    }
    const chunk = this.#chunks.shift()
    if (chunk !== undefined) {
      this.#taken = chunk
      this.#bytes -= chunk.length
      if (this.#full && this.#bytes < this.#opts.highWaterMark) this.#relieve()
      return { value: chunk, done: false }
    }
    if (this.#ended || this.#cancelled) return this.#finish()
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject }
    })
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.#ended && !this.#cancelled) {
      this.#cancelled = true
      this.#opts.onCancel?.()
    }
    this.#stop()
    this.#waiter?.resolve({ value: undefined, done: true })
    this.#waiter = null
    return { value: undefined, done: true }
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  #settleWaiter(): void {
    if (this.#waiter === null || this.#chunks.length > 0) return
    const waiter = this.#waiter
    this.#waiter = null
    this.#finish().then(waiter.resolve, waiter.reject)
  }

  async #finish(): Promise<IteratorResult<Uint8Array>> {
    this.#stop()
    const failure = this.#failure
    this.#failure = null
    if (failure !== null) throw failure.err
    return { value: undefined, done: true }
  }

  #relieve(): void {
    this.#full = false
    this.#opts.onPressure?.(false)
    const waiters = this.#drainWaiters
    this.#drainWaiters = []
    for (const resolve of waiters) resolve()
  }

  #startKeepAlive(): void {
    if (this.#opts.keepAliveMs <= 0 || this.#ended || this.#cancelled) return
    this.#timer = setTimeout(() => this.#keepAlive(), this.#opts.keepAliveMs)
    // An idle stream must not be the reason the process stays up.
    this.#timer.unref()
  }

  #keepAlive(): void {
    // A comment is only worth sending when nothing else is waiting to go out.
    if (this.#chunks.length === 0) this.push(KEEP_ALIVE_FRAME)
    this.#timer?.refresh()
  }

  #stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    if (this.#full) this.#relieve()
  }
}
