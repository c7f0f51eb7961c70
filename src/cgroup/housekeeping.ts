/**
 * The cgroup work that no spawn waits for (the pool's refill, a lone process's rmdir),
 * kept off the path of every spawn (docs/performance.md, "Where a spawn's time goes, and the cgroup's share"):
 * it runs on a later turn of the event loop, but not while a spawn is between its
 * clone and its hand-back to JS (for at most two turns: a spawn on this thread is
 * handed back on the next, one on a spawner thread may take longer), and while one
 * lone process runs, a refill its spawn queued waits for its exit or for the next
 * spawn. A caller that spawns again as soon as one exits thus pays for it while its
 * next child runs; one that waits between processes does not pay for it at all.
 */
const MAX_DEFERRED_TURNS = 2

export class Housekeeping {
  #spawning = 0
  /** Spawns begun so far: what an item's epoch counts. */
  #begun = 0
  #queue: Array<{ fn: () => void; epoch: number; mayWait: boolean }> = []
  #scheduled = false

  /** `loneRunning`: exactly one process of the supervisor runs (and none is ending). */
  constructor(private readonly loneRunning: () => boolean) {}

  /** A spawn took a cgroup: queued work waits until it is handed back. */
  spawnBegun(): void {
    this.#spawning++
    this.#begun++
  }

  /** That spawn was handed back (or never will be). */
  spawnEnded(): void {
    this.#spawning--
    this.poke()
  }

  /**
   * Runs `fn` on a later turn; `mayWait`: while a lone process runs whose spawn began
   * after it was queued, only after that process's exit or the next spawn.
   */
  later(fn: () => void, mayWait = false): void {
    this.#queue.push({ fn, epoch: this.#begun, mayWait })
    this.poke()
  }

  /** What holds queued work back may have gone (a hand-back, an exit): look again on the next turn. */
  poke(): void {
    if (this.#scheduled || this.#queue.length === 0) return
    this.#scheduled = true
    this.#tick(0)
  }

  /** Runs everything queued now, whatever holds it back (a warm-up, close). */
  flush(): void {
    this.#run(true)
  }

  #tick(deferred: number): void {
    setImmediate(() => {
      if (this.#spawning > 0 && deferred < MAX_DEFERRED_TURNS) return this.#tick(deferred + 1)
      this.#scheduled = false
      this.#run(false)
    })
  }

  #run(all: boolean): void {
    const hold = !all && this.loneRunning()
    for (const item of this.#queue.splice(0)) {
      if (hold && item.mayWait && item.epoch === this.#begun) this.#queue.push(item)
      else item.fn()
    }
  }
}
