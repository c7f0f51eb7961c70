/**
 * The recent output of one PTY session (docs/pty.md): the last `size` bytes, replayed to
 * every client that attaches, as tmux does. Bytes that no client has been handed yet are
 * never pushed out by newer ones; the channel stops reading the terminal instead, so
 * output held for the first client and the scrollback are one buffer with one bound.
 */
export class Scrollback {
  readonly size: number
  #chunks: Buffer[] = []
  #bytes = 0
  #unseen = 0

  constructor(size: number) {
    this.size = size
  }

  /** Bytes kept: at most `size`, or the unseen ones when one read took them past it. */
  get bytes(): number {
    return this.#bytes
  }

  /** Bytes at the end that no client has been handed. */
  get unseen(): number {
    return this.#unseen
  }

  /** New output; `seen` when it was handed to a client too (or nobody is to be waited for). */
  push(chunk: Buffer, seen: boolean): void {
    if (chunk.length === 0) return
    this.#chunks.push(chunk)
    this.#bytes += chunk.length
    if (!seen) this.#unseen += chunk.length
    this.#trim()
  }

  /** Everything kept has been handed to a client. */
  markSeen(): void {
    this.#unseen = 0
    this.#trim()
  }

  /** The last `n` bytes were handed to a client whose connection never took them. */
  markUnseen(n: number): void {
    this.#unseen = Math.min(this.#bytes, Math.max(this.#unseen, n))
  }

  clear(): void {
    this.#chunks = []
    this.#bytes = 0
    this.#unseen = 0
  }

  /** What is kept, as payloads of at most `max` bytes (a frame each), oldest first. */
  *payloads(max: number): Generator<Buffer> {
    let batch: Buffer[] = []
    let size = 0
    for (const chunk of this.#chunks) {
      for (let at = 0; at < chunk.length;) {
        const take = Math.min(chunk.length - at, max - size)
        batch.push(at === 0 && take === chunk.length ? chunk : chunk.subarray(at, at + take))
        size += take
        at += take
        if (size === max) {
          yield Buffer.concat(batch, size)
          batch = []
          size = 0
        }
      }
    }
    if (size > 0) yield Buffer.concat(batch, size)
  }

  // Oldest bytes out first, down to `size`, never into the unseen ones.
  #trim(): void {
    const keep = Math.max(this.size, this.#unseen)
    while (this.#chunks.length > 0 && this.#bytes - this.#chunks[0].length >= keep)
      this.#bytes -= (this.#chunks.shift() as Buffer).length
    const excess = this.#bytes - keep
    if (excess > 0) {
      // A view: it keeps the rest of that one read (at most 64 KiB) alive, no more.
      this.#chunks[0] = this.#chunks[0].subarray(excess)
      this.#bytes = keep
    }
  }
}
