/**
 * The new program's half of a live upgrade (docs/upgrade.md): the old server's running
 * processes rebuilt around the inherited pidfds and pipes, as if spawned here.
 */
import type { SupervisedProcess } from '../core/process.js'
import { LINE_HEAP_OVERHEAD, OutputLog } from '../core/retain.js'
import type { ProcessTable } from '../core/table.js'
import type { PtySession } from '../pty/index.js'
import type { StreamName } from '../types.js'
import { OldWatchdogs } from './guards.js'
import { inheritedLaunch } from './inherit.js'
import { restoreLog } from './log-state.js'
import { adoptPtys } from './pty-state.js'
import type { EndedRecord, HandoverState, ProcessRecord } from './state.js'

/** Retention bounds of the new program, for the logs it takes over. */
export interface LogBounds {
  retainBytes: number
  retainHeadBytes: number
}

function adoptOne(
  table: ProcessTable,
  r: ProcessRecord,
  bounds: LogBounds,
  total: number,
  transitMs: number,
): SupervisedProcess {
  const native = table.native
  for (const fd of r.fds) if (fd >= 0) native.setCloexec(fd)
  const log = restoredLog(r, bounds)
  const pipes: Partial<Record<StreamName, { bytes: number; pending: Buffer }>> = {}
  for (const [s, v] of Object.entries(r.pipes)) {
    pipes[s as StreamName] = { bytes: v.bytes, pending: Buffer.from(v.pending, 'base64') }
  }
  return table.adopt(
    {
      handle: r.handle,
      command: r.command,
      args: r.args,
      lineLimit: r.lineLimit,
      log,
      // The swap's own time counts: a timeout ends when it would have in the old program.
      timeoutMs: r.timeoutMs === undefined ? undefined : Math.max(0, r.timeoutMs - transitMs),
      idleTimeoutMs: r.idleTimeoutMs,
      timeoutGraceMs: r.timeoutGraceMs,
      encoding: r.encoding,
      maxOutputBytes: r.maxOutputBytes,
      drainGraceMs: table.drainGraceMs,
    },
    inheritedLaunch(native, r, r.fds, transitMs, {
      pipes,
      ...(r.graceMs === undefined ? {} : { graceMs: Math.max(0, r.graceMs - transitMs) }),
      treeKilled: r.treeKilled,
    }),
    total,
  )
}

function restoredLog(r: { log: ProcessRecord['log'] }, bounds: LogBounds): OutputLog | null {
  if (r.log === null) return null
  const log = new OutputLog({
    maxBytes: bounds.retainBytes,
    headBytes: bounds.retainHeadBytes,
    lineOverhead: LINE_HEAP_OVERHEAD,
  })
  restoreLog(log, r.log)
  return log
}

function adoptEnded(table: ProcessTable, r: EndedRecord, bounds: LogBounds): SupervisedProcess {
  return table.adoptEnded(
    {
      handle: r.handle,
      command: r.command,
      args: r.args,
      lineLimit: 0,
      log: restoredLog(r, bounds),
      timeoutMs: undefined,
      idleTimeoutMs: undefined,
      timeoutGraceMs: 0,
      encoding: r.encoding,
      maxOutputBytes: undefined,
      drainGraceMs: 0,
    },
    { pid: r.pid, startedAt: r.startedAt, user: r.user },
    r.exit,
    r.endedAt,
  )
}

/**
 * Adopts every process and PTY session of `state` into `table`, the exited processes
 * still listed first; returns the old watchdogs, which guard them until they end. Each
 * exit, even one that came during the swap, is reported as usual: its pidfd is readable
 * and the reap happens here.
 */
export function adoptAll(
  table: ProcessTable,
  state: HandoverState,
  bounds: LogBounds,
): { old: OldWatchdogs; processes: SupervisedProcess[]; ptys: PtySession[] } {
  const old = new OldWatchdogs(table.native, state.watchdogs)
  const transitMs = Math.max(0, Date.now() - state.capturedAt)
  for (const r of state.ended ?? []) adoptEnded(table, r, bounds)
  const processes = state.processes.map((r) => {
    const p = adoptOne(table, r, bounds, state.total, transitMs)
    old.add(r.watchdog, p)
    return p
  })
  const ptys = adoptPtys(table, state.ptys ?? [], old, transitMs, state.total)
  old.releaseIdle()
  return { old, processes, ptys }
}
