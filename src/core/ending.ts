/**
 * Why a process ended (docs/endings.md): what sandproc itself did to it, recorded as it
 * happens, and the rule that turns that and the reap into exactly one `reason`.
 */
import { constants as os } from 'node:os'

import type { ExitReason, KilledBy } from '../types.js'

/**
 * The first thing sandproc did to end the process. A timeout or a kill of the tree decides
 * the reason however the process then ends (it may trap SIGTERM and exit with a code);
 * a plain signal sent through `kill(sig)` decides it only if that signal is what ended it,
 * since the program may handle it and go on.
 */
export type Ending =
  { reason: 'timed_out' | 'idle_timeout' } | { reason: 'killed'; killedBy: KilledBy; onlyIfSignal?: number }

/**
 * What ends a process, recorded as it happens: the first wins (a timeout stays a timeout
 * when close() follows in its grace); a plain signal the program may survive gives way
 * to anything later.
 */
export class EndingRecord {
  #e: Ending | null = null

  get current(): Ending | null {
    return this.#e
  }

  /** Records `e` unless the ending is already decided; false then. */
  record(e: Ending): boolean {
    const cur = this.#e
    if (cur !== null && !(cur.reason === 'killed' && cur.onlyIfSignal !== undefined)) return false
    this.#e = e
    return true
  }
}

/** How the main process ended, as the exit event states it. */
export interface Outcome {
  exitCode: number | null
  signal: number | null
  /**
   * The OOM rule (docs/protocol.md "OOM") held (counter rose, SIGKILL, not sent by
   * sandproc).
   */
  oomKilled: boolean
}

/** The reason and, for a kill, who did it. */
export function reasonOf(o: Outcome, ending: Ending | null): { reason: ExitReason; killedBy?: KilledBy } {
  if (ending !== null) {
    if (ending.reason !== 'killed') return { reason: ending.reason }
    if (ending.onlyIfSignal === undefined || ending.onlyIfSignal === o.signal)
      return { reason: 'killed', killedBy: ending.killedBy }
  }
  if (o.oomKilled) return { reason: 'oom_killed' }
  return { reason: o.exitCode !== null ? 'exited' : 'signaled' }
}

/** Whether `ending` rules out an OOM claim: sandproc's own SIGTERM or SIGKILL is no OOM kill. */
export function endedBySupervisor(ending: Ending | null): boolean {
  return (
    ending !== null &&
    (ending.reason !== 'killed' || ending.onlyIfSignal === undefined || ending.onlyIfSignal === os.signals.SIGKILL)
  )
}
