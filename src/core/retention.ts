/**
 * What has ended and is still kept, and the two bounds over all of it: `maxExited` in
 * number (oldest forgotten first) and `retainTotalBytes` in log bytes (oldest output
 * released first). Exited processes of the table and whatever a layer above retains
 * (stopped managed processes) share them.
 */

/** Something ended that the retention bounds cover. */
export interface Retained {
  /** Log bytes it holds. */
  bytes: number
  /** Drops its output (the total byte bound was reached). */
  release(): void
  /** Removes it from every listing and lookup (the count bound was reached). */
  forget(): void
}

export class Retention {
  /** Oldest first, with the log bytes counted for each. */
  readonly #kept = new Map<object, Retained>()
  /** Sum of the bytes kept: checked on every exit, so kept rather than recounted. */
  #bytes = 0

  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
  ) {}

  /** Keeps `key`, whose log must no longer grow, and trims to the bounds. */
  keep(key: object, entry: Retained): void {
    this.drop(key)
    this.#kept.set(key, { ...entry })
    this.#bytes += entry.bytes
    this.#trim()
  }

  /** `key` is no longer counted or forgotten. */
  drop(key: object): void {
    const entry = this.#kept.get(key)
    if (entry === undefined) return
    this.#bytes -= entry.bytes
    this.#kept.delete(key)
  }

  // Ended things beyond the bound are forgotten oldest first; running ones are not here.
  // Per exit this costs O(1) plus what it removes: it runs once per process.
  #trim(): void {
    for (const [key, entry] of this.#kept) {
      if (this.#kept.size <= this.maxCount) break
      this.#kept.delete(key)
      this.#bytes -= entry.bytes
      entry.forget()
    }
    // Each log is bounded, but up to maxCount of them are kept: bound their sum too,
    // releasing the oldest output first.
    if (this.#bytes <= this.maxBytes) return
    for (const entry of this.#kept.values()) {
      if (this.#bytes <= this.maxBytes) break
      if (entry.bytes === 0) continue
      this.#bytes -= entry.bytes
      entry.bytes = 0
      entry.release()
    }
  }
}
