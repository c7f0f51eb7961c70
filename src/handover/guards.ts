/**
 * The old servers' watchdogs after a live upgrade (docs/upgrade.md). Each keeps guarding
 * the processes its server started (its pipe stays open in the new program, so a crash
 * of the new program still sets it off) and is let go once the last of them has ended:
 * it then sweeps its old cgroup directories, which only empty cgroups are left in, and
 * exits.
 */
import type { SupervisedProcess } from '../core/process.js'
import { Watchdog } from '../core/watchdog.js'
import type { NativeBinding } from '../native.js'
import type { WatchdogRecord } from './state.js'

/** What a guard holds on to: an adopted process or PTY session. */
type Guarded = Pick<SupervisedProcess, 'pid'> & { exited: Promise<unknown> }

interface Guard {
  watchdog: Watchdog
  processes: Set<Guarded>
}

export class OldWatchdogs {
  readonly #guards: Guard[] = []
  /** Which guard each adopted process belongs to. */
  readonly #of = new Map<Guarded, Guard>()

  constructor(native: NativeBinding, records: WatchdogRecord[]) {
    for (const r of records) this.#guards.push({ watchdog: Watchdog.adopt(native, r), processes: new Set() })
  }

  /** `proc`, adopted, is guarded by the record at `index`; the guard is let go after its exit. */
  add(index: number | null, proc: Guarded): void {
    const guard = index === null ? undefined : this.#guards[index]
    if (guard === undefined) return
    guard.processes.add(proc)
    this.#of.set(proc, guard)
    proc.exited
      .catch(() => undefined)
      .then(() => {
        guard.watchdog.forget(proc.pid)
        guard.processes.delete(proc)
        this.#of.delete(proc)
        if (guard.processes.size === 0) this.#release(guard)
      })
  }

  /** Guards that no adopted process needs: let go at once. */
  releaseIdle(): void {
    for (const g of [...this.#guards]) if (g.processes.size === 0) this.#release(g)
  }

  /** For the next upgrade: the guards still held, and for each process the index of its guard. */
  handover(native: NativeBinding): { records: WatchdogRecord[]; indexOf: (p: Guarded) => number | null } {
    const records: WatchdogRecord[] = []
    const index = new Map<Guard, number>()
    for (const g of this.#guards) {
      const r = g.watchdog.handover(native)
      if (r === null) continue
      index.set(g, records.length)
      records.push(r)
    }
    return {
      records,
      indexOf: (p) => {
        const g = this.#of.get(p)
        return g === undefined ? null : (index.get(g) ?? null)
      },
    }
  }

  #release(g: Guard): void {
    const i = this.#guards.indexOf(g)
    if (i < 0) return
    this.#guards.splice(i, 1)
    void g.watchdog.close()
  }
}
