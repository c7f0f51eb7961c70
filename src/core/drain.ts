/**
 * The grace period after the main process is reaped (docs/protocol.md "Process tree").
 * Something that escaped both the process group and the cgroup may hold a pipe open
 * forever: give up on the pipes once they stay idle for the grace period. Never while
 * the consumer has paused reading or while bytes still flow, so a slow consumer loses
 * nothing.
 */
export class DrainGuard {
  #timer: NodeJS.Timeout | null = null
  #sawData = false

  constructor(
    readonly graceMs: number,
    /** True while reading is paused by a consumer. */
    private readonly paused: () => boolean,
    /** Gives up on the pipes; called at most once per idle grace period. */
    private readonly giveUp: () => void,
  ) {}

  /** Bytes arrived: the pipes are not idle. */
  noteData(): void {
    this.#sawData = true
  }

  arm(): void {
    this.#sawData = false
    this.#timer = setTimeout(() => {
      this.#timer = null
      if (this.paused() || this.#sawData) return this.arm()
      this.giveUp()
    }, this.graceMs)
    this.#timer.unref()
  }

  clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }
}
