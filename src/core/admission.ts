/**
 * A bound on spawns handed to the addon and not yet reported back. Each of them holds
 * its cgroup's join fds (two or three) until a spawner thread has cloned the child, so
 * a burst of 10,000 launched in one loop filled the fd table with join fds before any
 * pipe or pidfd existed (EMFILE after about 900 here). Launches past the bound wait
 * here, in order, holding nothing.
 */
export class Admission {
  #inFlight = 0
  readonly #queue: Array<() => boolean> = []

  constructor(private readonly limit: number) {}

  /**
   * True when a slot is taken now. Otherwise `later` runs, in order, once one frees; it
   * returns false when it failed at once, which gives its slot straight back (no
   * recursion through `leave`, however many fail in a row).
   */
  enter(later: () => boolean): boolean {
    if (this.#inFlight < this.limit && this.#queue.length === 0) {
      this.#inFlight++
      return true
    }
    this.#queue.push(later)
    return false
  }

  /** A spawn was reported back: its slot goes to the next waiting launch. */
  leave(): void {
    this.#inFlight--
    while (this.#inFlight < this.limit && this.#queue.length > 0) {
      this.#inFlight++
      if (!this.#queue.shift()!()) this.#inFlight--
    }
  }
}
