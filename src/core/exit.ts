/**
 * The exit event of a reaped process (docs/protocol.md "Event streams", "Semantics"):
 * how it ended, and the OOM decision. Pure: the process object gathers the facts, this
 * states the rule.
 */
import { constants as os } from 'node:os'

import type { ExitEvent } from '../types.js'
import { endedBySupervisor, reasonOf, type Ending } from './ending.js'

/** What is known once the main process has been reaped. */
export interface Reaped {
  /** Exit code, or null when a signal ended it. */
  code: number | null
  /** Terminating signal, or null when it exited. Both null: the status was lost. */
  signal: number | null
  userUs: number
  sysUs: number
  wallMs: number
  /** Rise of the cgroup's OOM-kill counter; null without a usable counter. */
  oomKills: number | null
  /** Peak memory of the cgroup in bytes; null without one. */
  peak: number | null
  /** With a pids limit: peak tasks and refused forks (each null when unreadable). */
  pids?: { peak: number | null; limitHits: number | null }
  /** With a CPU limit: throttled time, ms (null when unreadable). */
  cpuThrottledMs?: number | null
}

/** What sandproc itself did to the process. */
export interface Interventions {
  /** sandproc sent a SIGKILL (kill(), killTree(), a timeout, close()). */
  killedBySupervisor: boolean
  /** The first thing sandproc did to end it, if anything (ending.ts). */
  ending: Ending | null
}

/**
 * Exactly one of `exit_code` or `signal` (Node's rule). `oom_killed: true` only when the
 * main process died of SIGKILL, the OOM-kill counter of its own cgroup rose, and sandproc
 * did not send a SIGKILL itself: an exit status of 137, a kill -9 from someone else, a
 * timeout, or a descendant's OOM kill under a surviving main process is never one.
 */
export function exitEvent(r: Reaped, done: Interventions): ExitEvent {
  // A status someone else reaped is lost; SIGKILL is the one honest guess, never an OOM.
  const signal = r.code !== null ? null : (r.signal ?? os.signals.SIGKILL)
  const lost = r.code === null && r.signal === null
  const bySupervisor = done.killedBySupervisor || endedBySupervisor(done.ending)
  const oomKilled = signal === os.signals.SIGKILL && !lost && !bySupervisor && r.oomKills !== null && r.oomKills > 0
  const { reason, killedBy } = reasonOf({ exitCode: r.code, signal, oomKilled }, done.ending)
  const ev: ExitEvent = signal === null ? { exit_code: r.code as number, reason } : { signal, reason }
  if (killedBy !== undefined) ev.killed_by = killedBy
  // The Tensorlake flags follow the reason, so the two never disagree.
  if (reason === 'oom_killed') ev.oom_killed = true
  if (reason === 'timed_out') ev.timed_out = true
  if (r.oomKills !== null) ev.oom_kills = r.oomKills
  ev.usage = {
    wall_ms: r.wallMs,
    user_cpu_ms: r.userUs / 1000,
    system_cpu_ms: r.sysUs / 1000,
    memory_peak_bytes: r.peak,
  }
  // Present only when the limit was set, so a caller can tell "hit its pid limit" apart.
  if (r.pids !== undefined) {
    if (r.pids.limitHits !== null) ev.pids_limit_hits = r.pids.limitHits
    ev.usage.pids_peak = r.pids.peak
  }
  if (r.cpuThrottledMs !== undefined) ev.usage.cpu_throttled_ms = r.cpuThrottledMs
  return ev
}
