/**
 * The end of a child's output after the reap, for processes and PTY sessions alike
 * (docs/protocol.md "Process tree", docs/pty.md): the exit comes after the last byte,
 * and something that escaped the tree and holds the output open cannot hold it forever.
 * Once the tree is killed, the output is given up after it stayed idle for the grace
 * period; never while the consumer holds reading paused, so a slow consumer loses
 * nothing, nor while bytes still flow, for an owner that reports them (`noteData`).
 */

export interface DrainActions {
  /** True while the consumer holds reading paused. */
  paused(): boolean
  /** Kills what is left of the tree; resolves once it is gone. */
  killRest(): Promise<void>
  /** Stops reading output that something outside the tree still holds open. */
  giveUp(): void
  /** Delivers the exit (once). */
  finish(): void
}

/**
 * When the rest of the tree is killed. A process's descendants do not outlive it
 * (`"reap"`: at once, docs/protocol.md "Process tree"). A terminal's do for a while
 * (`"grace"`): a job that keeps the terminal open gets the drain grace before the kill,
 * and whatever closed the terminal and still runs (a daemon) goes with the session at
 * its end (docs/pty.md).
 */
export type KillRestAt = 'reap' | 'grace'

export class Drain {
  #reaped = false
  #ended = false
  #done = false
  #sawData = false
  #timer: NodeJS.Timeout | null = null

  constructor(
    readonly graceMs: number,
    private readonly killRestAt: KillRestAt,
    private readonly act: DrainActions,
  ) {}

  /** Bytes arrived: the output is not idle. */
  noteData(): void {
    this.#sawData = true
  }

  /** The main process was reaped. */
  reap(): void {
    this.#reaped = true
    if (this.killRestAt === 'reap') {
      void this.act.killRest().then(() => {
        if (this.#ended) return this.#end()
        this.#arm(this.#giveUpIfIdle)
      })
      return
    }
    if (this.#ended) return this.#end()
    this.#arm(() => void this.act.killRest().then(() => this.#arm(this.#giveUpIfIdle)))
  }

  /** All output reached its end (EOF, or given up). */
  outputEnded(): void {
    this.#ended = true
    if (this.#reaped) this.#end()
  }

  #giveUpIfIdle = (): void => {
    if (this.#ended) return
    // Held output is still readable, or still coming: wait rather than drop it.
    if (this.act.paused() || this.#sawData) return this.#arm(this.#giveUpIfIdle)
    this.act.giveUp()
    this.outputEnded()
  }

  #arm(fn: () => void): void {
    this.#sawData = false
    this.#timer = setTimeout(() => {
      this.#timer = null
      fn()
    }, this.graceMs)
    this.#timer.unref()
  }

  #end(): void {
    if (this.#done) return
    this.#done = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    if (this.killRestAt === 'reap') return this.act.finish()
    void this.act.killRest().then(() => this.act.finish())
  }
}
