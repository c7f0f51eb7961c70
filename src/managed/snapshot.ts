/**
 * A managed process as a live upgrade carries it (docs/upgrade.md): read by
 * `ManagedProcess.handoverSnapshot()` in the old program, given to the new one's
 * `ManagedProcess` with the run it adopted.
 */
import type { Normalized } from '../core/validate.js'
import type { LastExit, ManagedStatus, OutputEncoding, ProcessInfo } from '../types.js'
import type { ManagedSpec } from './fields.js'
import type { HealthState } from './run-health.js'

export interface ManagedSnapshot {
  id: string
  request: Normalized
  spec: ManagedSpec
  /** Never `starting`: a run in flight is waited for. */
  status: Exclude<ManagedStatus, 'starting'>
  restartCount: number
  /** Automatic restarts since the last start or manual restart (max_restarts). */
  automatic: number
  /** k of the backoff rule. */
  consecutive: number
  lastExit: LastExit | null
  lastError: string | null
  /** ProcessInfo of the run shown (the current one while running, else the last that started). */
  shown: ProcessInfo
  encoding: OutputEncoding
  /** The current run's handle while `running` (the core hands the run itself over); else null. */
  runHandle: number | null
  /** How long the current run has lasted, ms (a long run resets the backoff). */
  ranMs: number
  /** When the pending restart is due (ms since the epoch) while `backing_off`. */
  nextRestartAt: number | null
  health: HealthState
}
