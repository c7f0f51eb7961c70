/**
 * Collects the frames an event stream (streams.ts) produces in one turn of the event
 * loop and pushes them as one chunk. The supervisor emits every line of one pipe read
 * synchronously, so a chunk holds at least a whole read, and `setImmediate` lets reads
 * of the same poll phase join it.
 */
import type { ChunkQueue } from './queue.js'

/** A batch this big goes out at once: the streams' default high water mark. */
const BATCH_LIMIT = 64 * 1024

export class FrameBatch {
  #queue: ChunkQueue
  #text = ''
  #scheduled = false
  #closed = false

  constructor(queue: ChunkQueue) {
    this.#queue = queue
  }

  add(frame: string): void {
    if (this.#closed) return
    this.#text += frame
    // A batch past the high water mark goes to the queue now, so that its pressure
    // check pauses the pipes before libuv delivers the next read of this turn.
    if (this.#text.length >= BATCH_LIMIT) {
      this.#flush()
      return
    }
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => {
        this.#scheduled = false
        this.#flush()
      })
    }
  }

  /** Frames added and not yet pushed to the queue (a live upgrade carries them). */
  get pending(): string {
    return this.#text
  }

  /** The frames added so far are the last ones. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    if (!this.#scheduled) this.#flush()
  }

  #flush(): void {
    const text = this.#text
    if (text.length === 0 && !this.#closed) return
    this.#text = ''
    this.#queue.push(text)
    if (this.#closed) this.#queue.end()
  }
}
