/**
 * The events of a {@link ManagedProcess}, typed: what a daemon logs about each run, each
 * status change, each health verdict and each scheduled restart.
 */
import type { CodedError } from '../errors.js'
import type { SupervisedProcess } from '../core/process.js'
import type { ExitEvent, HealthStatus, ManagedStatus, OutputEvent, StartEvent } from '../types.js'
import type { ProbeResult } from './probe.js'

/** Why the supervisor ended a run itself; null for a run that ended by itself. */
export type EndReason = 'delete' | 'restart' | 'close' | 'unhealthy'

/** A managed status change. `at`: ms since the epoch. */
export interface StatusChange {
  status: ManagedStatus
  previous: ManagedStatus
  at: number
}

/** A health status change. */
export interface HealthChange {
  health_status: HealthStatus
  previous: HealthStatus
  consecutive_health_failures: number
  at: number
}

/** One probe of the current run's health check. */
export interface ProbeEvent extends ProbeResult {
  consecutive_health_failures: number
  at: number
}

/** An automatic restart was scheduled: the next run starts `delay_ms` after `at`. */
export interface ScheduledRestart {
  /** k: the consecutive automatic restart this is (1 for the first after a reset). */
  attempt: number
  delay_ms: number
  next_restart_at: number
  at: number
}

/** How a run ended, as the managed process judged it. */
export interface RunEnd {
  /** A non-zero exit, a signal, an OOM kill or an unhealthy verdict. */
  failure: boolean
  /** What the supervisor did to end it; null when it ended by itself. */
  ended_by: EndReason | null
}

/** Listener signatures of every event of a managed process. */
export interface ManagedEvents {
  /** A run started (a new OS process with a new pid). */
  start: [ev: StartEvent, run: SupervisedProcess]
  /** A run ended; its output is drained and its tree is gone. */
  exit: [ev: ExitEvent, run: SupervisedProcess, end: RunEnd]
  /** A line of any run, in one sequence across runs. */
  output: [ev: OutputEvent]
  status: [change: StatusChange]
  health: [change: HealthChange]
  probe: [ev: ProbeEvent]
  scheduled: [ev: ScheduledRestart]
  /** A restart began: `run` replaces the previous run (`automatic`: by the policy, else asked for). */
  restart: [run: SupervisedProcess, automatic: boolean]
  /** A later run could not start (the first run's failure rejects `started` instead). */
  'spawn-error': [err: CodedError, run: SupervisedProcess]
}
