/**
 * The `managed` object of ProcessInfo (docs/protocol.md "Managed processes"),
 * assembled from a managed process's state.
 */
import type { ExitEvent, HealthStatus, LastExit, ManagedInfo, ManagedStatus } from '../types.js'
import type { ManagedSpec } from './fields.js'

/** What {@link managedInfo} reads. */
export interface ManagedState {
  id: string
  spec: ManagedSpec
  status: ManagedStatus
  restartCount: number
  health: HealthStatus
  failures: number
  lastExit: LastExit | null
  lastError: string | null
  nextRestartAt: number | null
}

/** Every field present, copies only (callers may keep or change what they get). */
export function managedInfo(s: ManagedState): ManagedInfo {
  const hc = s.spec.healthCheck
  return {
    id: s.id,
    name: s.spec.name,
    status: s.status,
    restart_count: s.restartCount,
    restart: { ...s.spec.restart },
    health_check: hc === null ? null : { ...hc },
    health_status: s.health,
    consecutive_health_failures: s.failures,
    last_exit: s.lastExit === null ? null : { ...s.lastExit },
    last_error: s.lastError,
    next_restart_at: s.nextRestartAt,
  }
}

/** `last_exit` of a run's exit event: a code or a signal, as the exit event has it. */
export function lastExitOf(ev: ExitEvent, endedAt: number): LastExit {
  const last: LastExit = {
    exit_code: ev.exit_code ?? null,
    signal: ev.signal ?? null,
    oom_killed: ev.oom_killed === true,
    ended_at: endedAt,
    reason: ev.reason,
  }
  if (ev.killed_by !== undefined) last.killed_by = ev.killed_by
  return last
}
