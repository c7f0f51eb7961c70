/**
 * What follows a run that ended by itself (docs/protocol.md "Managed processes":
 * "Restart", "Backoff"), pure: the policy, `max_restarts`, and the delay of the k-th
 * consecutive automatic restart.
 */
import { backoffDelay, resetsBackoff } from './backoff.js'
import type { RestartSettings } from './fields.js'

/** The counters the decision reads. */
export interface RestartCounters {
  /** k so far: consecutive automatic restarts since the last reset. */
  consecutive: number
  /** Automatic restarts since the last start or manual restart. */
  automatic: number
}

/** Stop (with the reason for `last_error`, null when nothing went wrong), or restart after a delay. */
export type NextStep =
  { action: 'stop'; error: string | null } | { action: 'restart'; attempt: number; delayMs: number }

/**
 * Decides after a run that lasted `ranMs` (0 for one that could not start). `attempt` of
 * a restart is the new k; a run of at least `max_backoff_ms` resets k first.
 */
export function nextStep(failure: boolean, ranMs: number, counters: RestartCounters, r: RestartSettings): NextStep {
  if (!(r.policy === 'always' || (r.policy === 'on_failure' && failure))) {
    return { action: 'stop', error: failure ? `restart policy "${r.policy}" does not restart a failed run` : null }
  }
  if (r.max_restarts !== null && counters.automatic >= r.max_restarts) {
    return { action: 'stop', error: `max_restarts (${r.max_restarts}) reached` }
  }
  const attempt = (resetsBackoff(ranMs, r) ? 0 : counters.consecutive) + 1
  return { action: 'restart', attempt, delayMs: backoffDelay(attempt, r) }
}
