/**
 * The health check of one run (docs/protocol.md "Managed processes": "Health"): the
 * first probe `initial_delay_ms` after the run starts, then one probe `interval_ms`
 * after the previous one ended, never two at once. A pass makes the run healthy and
 * zeroes the failures; `failure_threshold` consecutive failures make it unhealthy,
 * after which no more probes are made (the run is ended).
 */
import type { HealthSettings } from './fields.js'
import { probe, type ProbeResult } from './probe.js'

/** What the checker reports after each probe. */
export interface ProbeReport {
  result: ProbeResult
  /** Consecutive failures, this probe included. */
  failures: number
  /** Set when this probe changed the verdict. */
  verdict: 'healthy' | 'unhealthy' | null
}

/** Where a checker stands, for a live upgrade (docs/upgrade.md). */
export interface CheckerState {
  failures: number
  healthy: boolean
  /** Until the next probe, ms; 0 while one is in flight (the new program probes at once). */
  nextProbeMs: number
}

export class HealthChecker {
  readonly #check: HealthSettings
  readonly #onReport: (r: ProbeReport) => void
  readonly #abort = new AbortController()
  #timer: NodeJS.Timeout | null = null
  #failures = 0
  #healthy = false
  #stopped = false
  #probing: Promise<void> | null = null
  /** When the next probe is due (performance.now()). */
  #dueAt = 0

  /**
   * Starts probing (the run has just started), or, with `from`, goes on where a checker
   * of the old program stood.
   */
  constructor(check: HealthSettings, onReport: (r: ProbeReport) => void, from?: CheckerState) {
    this.#check = check
    this.#onReport = onReport
    this.#failures = from?.failures ?? 0
    this.#healthy = from?.healthy ?? false
    this.#schedule(from?.nextProbeMs ?? check.initial_delay_ms)
  }

  /** Where it stands now. */
  get state(): CheckerState {
    const nextProbeMs = this.#timer === null ? 0 : Math.max(0, this.#dueAt - performance.now())
    return { failures: this.#failures, healthy: this.#healthy, nextProbeMs }
  }

  /** Cancels the next probe and aborts one in flight; resolves once its socket is closed. */
  stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    this.#abort.abort()
    return this.#probing ?? Promise.resolve()
  }

  #schedule(ms: number): void {
    this.#dueAt = performance.now() + ms
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#probing = this.#probe()
    }, ms)
    // A health check alone must not keep a process alive that closed everything else.
    this.#timer.unref()
  }

  async #probe(): Promise<void> {
    if (this.#stopped) return
    const result = await probe(this.#check, this.#abort.signal)
    this.#probing = null
    // A probe aborted by stop() reports nothing: the run is over.
    if (this.#stopped) return
    let verdict: ProbeReport['verdict'] = null
    if (result.ok) {
      this.#failures = 0
      if (!this.#healthy) verdict = 'healthy'
      this.#healthy = true
    } else {
      this.#failures++
      if (this.#failures >= this.#check.failure_threshold) {
        verdict = 'unhealthy'
        this.#stopped = true
      }
    }
    this.#onReport({ result, failures: this.#failures, verdict })
    if (!this.#stopped) this.#schedule(this.#check.interval_ms)
  }
}
