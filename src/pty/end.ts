/**
 * The end of a PTY session (docs/protocol.md "At the end"). The exit comes after every
 * byte the program wrote: the master reports EIO once the last slave fd is closed, and
 * a read after the reap waits for output still in the line discipline, so EIO is the
 * end. A descendant that keeps the terminal open (a `setsid`'d or SIGHUP-ignoring job)
 * would delay EIO forever: at most the drain grace after the reap, the tree is killed;
 * then EIO follows at once. Reading is never given up while the consumer holds it
 * paused, so nothing written before the kill is lost.
 */
import type { Reaped } from '../core/exit.js'

export interface EndActions {
  /** Kills everything left of the tree; resolves once it is gone. */
  killTree: () => Promise<void>
  /** Stops reading a terminal that something outside the tree still holds. */
  giveUp: () => void
  /** Delivers the exit (once). */
  finish: (r: Reaped) => void
}

export class TerminalEnd {
  #reaped: Reaped | null = null
  #eof = false
  #done = false
  #timer: NodeJS.Timeout | null = null

  constructor(
    readonly graceMs: number,
    /** True while the consumer has paused reading. */
    private readonly paused: () => boolean,
    private readonly act: EndActions,
  ) {}

  get reaped(): boolean {
    return this.#reaped !== null
  }

  /** The main process was reaped. */
  reap(r: Reaped): void {
    this.#reaped = r
    if (this.#eof) return this.#end()
    this.#arm(() => {
      this.act.killTree().then(() => this.#arm(this.#giveUp))
    })
  }

  /** The master reported EIO (or the reader was given up). */
  eof(): void {
    this.#eof = true
    if (this.#reaped !== null) this.#end()
  }

  #giveUp = (): void => {
    if (this.#eof) return
    // Held output is still readable: wait for the consumer rather than drop it.
    if (this.paused()) return this.#arm(this.#giveUp)
    this.act.giveUp()
    this.eof()
  }

  #arm(fn: () => void): void {
    this.#timer = setTimeout(() => {
      this.#timer = null
      fn()
    }, this.graceMs)
    this.#timer.unref()
  }

  // Whatever closed the terminal and still runs (a daemon) goes with the session.
  #end(): void {
    if (this.#done) return
    this.#done = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    const r = this.#reaped as Reaped
    this.act.killTree().then(() => this.act.finish(r))
  }
}
