/**
 * The seam through which monitoring (the server's metrics and audit log, an embedder's
 * own) sees what a supervisor does, without the core knowing who watches.
 */
import type { SupervisedProcess } from './process.js'
import type { Normalized } from './validate.js'

/** Receives a supervisor's launches; every member is optional. */
export interface SupervisorObserver {
  /**
   * A `run` or `start` (or a run of a managed process) was accepted, before its spawn.
   * Called synchronously in the caller's context (an OpenTelemetry context included);
   * the start, output and exit follow on `proc`. `req` is the validated request.
   */
  launched?(proc: SupervisedProcess, req: Readonly<Normalized>): void
  /** A managed process started `run` in place of its previous run (automatic or asked for). */
  restarted?(name: string | null, run: SupervisedProcess, automatic: boolean): void
}

/** Observers of one supervisor; a failing observer never breaks a spawn. */
export class Observers {
  readonly #set = new Set<SupervisorObserver>()
  readonly #onError: (err: unknown) => void

  constructor(onError: (err: unknown) => void = (err) => console.error('sandproc: observer failed:', err)) {
    this.#onError = onError
  }

  add(observer: SupervisorObserver): () => void {
    this.#set.add(observer)
    return () => this.#set.delete(observer)
  }

  launched(proc: SupervisedProcess, req: Readonly<Normalized>): void {
    for (const o of this.#set) this.#call(() => o.launched?.(proc, req))
  }

  restarted(name: string | null, run: SupervisedProcess, automatic: boolean): void {
    for (const o of this.#set) this.#call(() => o.restarted?.(name, run, automatic))
  }

  #call(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.#onError(err)
    }
  }
}
