/**
 * The backoff rule (docs/protocol.md "Managed processes": "Backoff"), pure: the k-th
 * consecutive automatic restart waits `min(initial × 2^(k−1), max)`; a run that lasted
 * at least `max` resets k.
 */
import type { RestartSettings } from './fields.js'

/** Delay in ms before the k-th (1-based) consecutive automatic restart. */
export function backoffDelay(k: number, r: Pick<RestartSettings, 'initial_backoff_ms' | 'max_backoff_ms'>): number {
  if (k < 1) throw new RangeError('k counts from 1')
  if (r.initial_backoff_ms === 0) return 0
  // 2^(k-1) overflows to Infinity long after min() has picked the cap; that is fine.
  return Math.min(r.initial_backoff_ms * 2 ** (k - 1), r.max_backoff_ms)
}

/** True when a run of `ranMs` was long enough to reset the consecutive-restart count. */
export function resetsBackoff(ranMs: number, r: Pick<RestartSettings, 'max_backoff_ms'>): boolean {
  return ranMs >= r.max_backoff_ms
}
