/**
 * Cgroup directories made ahead in the background, so that a spawn's mkdir (about
 * 100 µs here) stays off its path. The memory manager and each extra v1 hierarchy keep
 * one. A pooled directory holds no fd: its files are opened only when it is taken.
 */
import * as fs from 'node:fs'

export class DirPool {
  readonly #dirs: string[] = []
  #filling: Promise<void> | null = null
  #stopped = false

  constructor(
    private readonly size: number,
    private readonly nextDir: () => string,
  ) {}

  /** A made directory, or undefined when the pool is empty. */
  take(): string | undefined {
    return this.#dirs.shift()
  }

  /** Tops the pool up in the background; a failed mkdir just ends this round (callers create inline). */
  refill(): void {
    if (this.#filling !== null || this.#stopped || this.#dirs.length >= this.size) return
    this.#filling = (async () => {
      while (!this.#stopped && this.#dirs.length < this.size) {
        const dir = this.nextDir()
        await fs.promises.mkdir(dir)
        this.#dirs.push(dir)
      }
    })()
      .catch(() => {})
      .finally(() => {
        this.#filling = null
      })
  }

  /** Resolves once no mkdir is in flight (the pool is full, or filling stopped). */
  async settled(): Promise<void> {
    await this.#filling
  }

  /** Stops filling for good; resolves with every pooled directory once no mkdir is in flight. */
  async drain(): Promise<string[]> {
    this.#stopped = true
    await this.#filling
    return this.#dirs.splice(0)
  }
}
