/**
 * Managed processes across a live upgrade (docs/upgrade.md): each one's counters,
 * backoff, health and log as JSON, read in the same synchronous pass as the core's
 * processes (capture.ts); the new program rebuilds each around the run the core adopted
 * (adopt.ts), or, for one between runs or stopped, around a stand-in of its last run.
 */
import { coded } from '../errors.js'
import type { SupervisedProcess } from '../core/process.js'
import { LINE_HEAP_OVERHEAD, OutputLog } from '../core/retain.js'
import type { ManagedProcess, ManagedOptions, Resumed } from '../managed/process.js'
import { PastRun } from '../managed/past-run.js'
import type { ManagedSnapshot } from '../managed/snapshot.js'
import type { NativeBinding } from '../native.js'
import type { LogBounds } from './adopt.js'
import { logRecord, restoreLog } from './log-state.js'
import type { HandoverState, LogRecord } from './state.js'

/** One managed process: its snapshot and its one log across runs. */
export interface ManagedRecord extends ManagedSnapshot {
  log: LogRecord
}

/** A promise for each managed process between two states, resolving once it has moved on. */
export function managedInBetween(managed: ManagedProcess[]): Promise<void>[] {
  return managed.filter((m) => m.handoverSnapshot() === null).map((m) => m.moved())
}

/**
 * The records of `managed`, oldest first. Synchronous: call right after the core's capture.
 * @throws Error with code `HANDOVER_BUSY` when one is in between, or its run is not in `state`.
 */
export function captureManaged(managed: ManagedProcess[], state: HandoverState): ManagedRecord[] {
  const handed = new Set(state.processes.map((p) => p.handle))
  return managed.map((m) => {
    const s = m.handoverSnapshot()
    if (s === null || (s.runHandle !== null && !handed.has(s.runHandle))) {
      throw coded(`managed process ${m.id} changed state during the handover`, 'HANDOVER_BUSY')
    }
    return { ...s, log: logRecord(m.log) }
  })
}

/**
 * What the new program makes each managed process of: the options (less the host) and
 * where it stood. `runs` are the processes the core adopted, by handle.
 */
export function resumeManaged(
  r: ManagedRecord,
  runs: Map<number, SupervisedProcess>,
  native: NativeBinding,
  bounds: LogBounds,
  transitMs: number,
): { opts: Omit<ManagedOptions, 'host'>; from: Resumed } {
  const log = new OutputLog({
    maxBytes: bounds.retainBytes,
    headBytes: bounds.retainHeadBytes,
    lineOverhead: LINE_HEAP_OVERHEAD,
  })
  restoreLog(log, r.log)
  const { log: _log, ...snapshot } = r
  const checker = snapshot.health.checker
  // The swap's own time counts: the next probe comes when it would have in the old program.
  if (checker !== null) checker.nextProbeMs = Math.max(0, checker.nextProbeMs - transitMs)
  snapshot.ranMs += transitMs
  // The current run is among the core's, even one that ended during the swap (its exit
  // comes here); only a process between runs or stopped gets a stand-in.
  const adopted = r.runHandle === null ? undefined : runs.get(r.runHandle)
  const run = adopted ?? new PastRun(r.shown, r.encoding, native)
  return { opts: { request: r.request, spec: r.spec, log }, from: { snapshot, run } }
}
