/**
 * Managed processes by name, and each run's managed process (docs/protocol.md
 * "Managed processes": "Names", "Addressing"): a name belongs to one managed process;
 * a stopped holder is replaced; the runs of a replaced holder keep knowing their
 * managed process.
 */
import { coded } from '../errors.js'
import type { SupervisedProcess } from '../core/process.js'
import type { ManagedProcess } from './process.js'

export class ManagedRegistry {
  readonly #byName = new Map<string, ManagedProcess>()
  /** Every managed process that is neither replaced nor failed at its first run, oldest first. */
  readonly #all = new Set<ManagedProcess>()
  readonly #owners = new WeakMap<SupervisedProcess, ManagedProcess>()

  /**
   * Throws `NAME_IN_USE` when `name` is held by a managed process that is not stopped.
   */
  checkName(name: string): void {
    const holder = this.#byName.get(name)
    if (holder !== undefined && holder.status !== 'stopped') {
      throw coded(`A managed process named ${JSON.stringify(name)} is ${holder.status}`, 'NAME_IN_USE')
    }
  }

  /** Adds `m`, replacing a stopped holder of its name; forgets it if its first run fails. */
  add(m: ManagedProcess): void {
    if (m.name !== null) {
      this.checkName(m.name)
      const old = this.#byName.get(m.name)
      if (old !== undefined) this.#all.delete(old)
      this.#byName.set(m.name, m)
    }
    this.#all.add(m)
    this.#own(m.current, m)
    m.on('start', (_ev, run) => this.#own(run, m))
    m.started.catch(() => this.#remove(m))
  }

  byName(name: string): ManagedProcess | undefined {
    return this.#byName.get(name)
  }

  /** The managed process a run belongs to, if any (also of a replaced holder). */
  ownerOf(run: SupervisedProcess): ManagedProcess | undefined {
    return this.#owners.get(run)
  }

  all(): ManagedProcess[] {
    return [...this.#all]
  }

  /** Forgets `m` (the retention bound reached it): no longer listed nor found by name. */
  forget(m: ManagedProcess): void {
    this.#remove(m)
  }

  #own(run: SupervisedProcess, m: ManagedProcess): void {
    this.#owners.set(run, m)
  }

  #remove(m: ManagedProcess): void {
    this.#all.delete(m)
    if (m.name !== null && this.#byName.get(m.name) === m) this.#byName.delete(m.name)
  }
}
