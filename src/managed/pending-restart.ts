/**
 * The one pending automatic restart of a managed process (`backing_off`): its timer and
 * `next_restart_at`. Cancelling it is final; a fire that its owner no longer wants (the
 * state moved on) is the owner's `fire` callback's to refuse.
 */
export class PendingRestart {
  #timer: NodeJS.Timeout | null = null
  #at: number | null = null

  /** When the pending restart is due (ms since the epoch), or null without one. */
  get nextRestartAt(): number | null {
    return this.#at
  }

  /** Replaces any pending restart with one due `delayMs` from `now`. Returns its due time. */
  schedule(delayMs: number, now: number, fire: () => void): number {
    this.cancel()
    this.#at = now + delayMs
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#at = null
      fire()
    }, delayMs)
    return this.#at
  }

  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    this.#at = null
  }
}
