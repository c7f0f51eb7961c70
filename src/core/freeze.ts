/**
 * Freeze and thaw of one process's tree (docs/freeze.md): one at a time, in the order
 * asked; the clocks stop with the tree and go on with it; a failed freeze thaws what it
 * froze. The kill paths thaw through the cgroup itself (src/cgroup/process.ts `kill`).
 */
import { coded, type CodedError } from '../errors.js'
import type { TreeFreezer } from './launch.js'
import type { ProcessTimeouts } from './timeouts.js'

/** What the freeze control needs of its process. */
export interface FreezeTarget {
  pid(): number
  /** Running: started, not yet reaped. */
  alive(): boolean
  /** The tree's freezer; null without one. */
  freezer(): TreeFreezer | null
  readonly clocks: ProcessTimeouts
  /** Why there is no freezer here, for the FREEZE_UNAVAILABLE message. */
  readonly unavailable: string | undefined
}

export class FreezeControl {
  #last: Promise<void> = Promise.resolve()

  constructor(private readonly t: FreezeTarget) {}

  /** True while the tree is frozen (or a freeze is under way). */
  get frozen(): boolean {
    return this.t.alive() && this.t.freezer()?.frozen === true
  }

  freeze(): Promise<void> {
    return this.#queue(async (f) => {
      if (f.frozen) return
      this.t.clocks.freeze()
      try {
        await f.freeze()
      } catch (err) {
        f.thawSync()
        this.t.clocks.thaw()
        throw this.#failure(err)
      }
      // Reaped meanwhile (killed while the freeze was confirmed): nothing is frozen.
      if (!this.t.alive()) throw this.#notRunning()
    })
  }

  thaw(): Promise<void> {
    return this.#queue(async (f) => {
      if (!f.frozen) return
      try {
        await f.thaw()
      } catch (err) {
        throw this.#failure(err)
      } finally {
        this.t.clocks.thaw()
      }
    })
  }

  /**
   * Thaws at once, without waiting for the confirmation: after a signal meant to end the
   * process (a SIGKILL, shutdown's SIGTERM), so that it is acted on.
   */
  thawNow(): void {
    this.t.freezer()?.thawSync()
    this.t.clocks.thaw()
  }

  // One operation at a time: a thaw asked during a freeze runs once the freeze is confirmed.
  #queue(op: (f: TreeFreezer) => Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      if (!this.t.alive()) throw this.#notRunning()
      const f = this.t.freezer()
      if (f === null) {
        throw coded(
          `process ${this.t.pid()} cannot be frozen: ${this.t.unavailable ?? 'it has no cgroup'}`,
          'FREEZE_UNAVAILABLE',
        )
      }
      await op(f)
    }
    const p = this.#last.then(run, run)
    this.#last = p.catch(() => undefined)
    return p
  }

  #failure(err: unknown): CodedError {
    return this.t.alive() ? (err as CodedError) : this.#notRunning()
  }

  #notRunning(): CodedError {
    return coded(`process ${this.t.pid()} is not running`, 'PROCESS_NOT_RUNNING')
  }
}
