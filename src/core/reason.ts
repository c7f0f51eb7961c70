/**
 * The end reason of an exit event as one label: what metrics, spans and the audit log
 * report for a process (docs/monitoring.md).
 */
import type { ExitEvent } from '../types.js'

/** How a process ended; `idle_timeout` and `killed` come from the exit event's own `reason`. */
export type EndReasonLabel = 'exited' | 'signaled' | 'oom_killed' | 'timed_out' | 'idle_timeout' | 'killed'

/**
 * The exit event's `reason` where it carries one, else derived from the flags every
 * exit event has: an OOM kill and a timeout are named before the signal they ended with.
 */
export function reasonOf(ev: ExitEvent & { reason?: EndReasonLabel }): EndReasonLabel {
  if (ev.reason !== undefined) return ev.reason
  if (ev.oom_killed === true) return 'oom_killed'
  if (ev.timed_out === true) return 'timed_out'
  if (ev.signal !== undefined) return 'signaled'
  return 'exited'
}
