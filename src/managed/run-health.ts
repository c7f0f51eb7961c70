/**
 * The health status of a managed process across its runs (docs/protocol.md
 * "Managed processes": "Health"): each run starts `starting` with zero failures and
 * gets its own {@link HealthChecker}; between runs the last verdict stays.
 */
import type { HealthStatus } from '../types.js'
import type { HealthChange, ProbeEvent } from './events.js'
import type { HealthSettings } from './fields.js'
import { HealthChecker, type CheckerState, type ProbeReport } from './health.js'

/** The health of a managed process as a live upgrade carries it (docs/upgrade.md). */
export interface HealthState {
  status: HealthStatus
  failures: number
  /** The current run's checker; null when none probes (no check, or between runs). */
  checker: CheckerState | null
}

export interface RunHealthHooks {
  onChange: (change: HealthChange) => void
  onProbe: (ev: ProbeEvent) => void
  /** `failure_threshold` consecutive failures: the run must be ended. */
  onUnhealthy: () => void
}

export class RunHealth {
  readonly #check: HealthSettings | null
  readonly #hooks: RunHealthHooks
  #status: HealthStatus
  #failures = 0
  #checker: HealthChecker | null = null

  constructor(check: HealthSettings | null, hooks: RunHealthHooks) {
    this.#check = check
    this.#hooks = hooks
    this.#status = check === null ? 'disabled' : 'starting'
  }

  get status(): HealthStatus {
    return this.#status
  }

  get failures(): number {
    return this.#failures
  }

  get state(): HealthState {
    return { status: this.#status, failures: this.#failures, checker: this.#checker?.state ?? null }
  }

  /** Takes over the old program's state, silently; probing goes on where it stood. */
  resume(s: HealthState): void {
    this.#status = s.status
    this.#failures = s.failures
    if (this.#check !== null && s.checker !== null) {
      this.#checker = new HealthChecker(this.#check, this.#onReport, s.checker)
    }
  }

  /** A run started: `starting`, zero failures, and (unless `probe` is false) probes. */
  runStarted(probe: boolean): void {
    this.stop()
    if (this.#check === null) return
    this.#failures = 0
    this.#set('starting')
    if (probe) this.#checker = new HealthChecker(this.#check, this.#onReport)
  }

  /** No more probes for this run (it is ending or ended); the verdict stays. */
  stop(): void {
    void this.#checker?.stop()
    this.#checker = null
  }

  #onReport = (r: ProbeReport): void => {
    this.#failures = r.failures
    this.#hooks.onProbe({ ...r.result, consecutive_health_failures: r.failures, at: Date.now() })
    if (r.verdict === 'healthy') this.#set('healthy')
    if (r.verdict !== 'unhealthy') return
    this.#checker = null
    this.#set('unhealthy')
    this.#hooks.onUnhealthy()
  }

  #set(status: HealthStatus): void {
    const previous = this.#status
    if (previous === status) return
    this.#status = status
    this.#hooks.onChange({
      health_status: status,
      previous,
      consecutive_health_failures: this.#failures,
      at: Date.now(),
    })
  }
}
