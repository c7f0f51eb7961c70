/**
 * PTY sessions across a live upgrade (docs/upgrade.md): each running session's terminal
 * master and child (pidfd, cgroup, user), read in the same synchronous pass as the
 * processes and rebuilt in the new program. Output still in the master stays in the
 * kernel and is read there; output already read went to the session's listeners.
 */
import { ProcessCgroup } from '../cgroup/index.js'
import type { Child } from '../core/child.js'
import type { Ending } from '../core/ending.js'
import type { ProcessTable } from '../core/table.js'
import { coded } from '../errors.js'
import type { NativeBinding } from '../native.js'
import { PtySession } from '../pty/index.js'
import { inheritedLaunch } from './inherit.js'
import type { OldWatchdogs } from './guards.js'
import type { ProcessRecord } from './state.js'

/** One running PTY session. */
export interface PtyRecord {
  pid: number
  pidfd: number
  /** The terminal's master, kept open across the execve. */
  master: number
  pts: string
  command: string
  args: string[]
  rows: number
  cols: number
  createdAt: number
  user: { uid: number; gid: number }
  startedAt: number
  elapsedMs: number
  ending: Ending | null
  killedBySupervisor: boolean
  cgroup: ProcessRecord['cgroup']
  /** Index in the state's watchdogs of the one that guards it. */
  watchdog: number | null
}

const noop = (): void => {}

/** Resolves once a child in flight has spawned or failed. */
function launched(c: Child): Promise<void> {
  if (!c.pending) return Promise.resolve()
  return new Promise((resolve) => {
    c.once('spawn', resolve)
    c.once('fail', resolve)
  })
}

/**
 * What a handover waits for before it reads the sessions: spawns in flight, and sessions
 * whose program was reaped while their terminal is still read to its end.
 */
export function ptysInBetween(sessions: PtySession[]): Promise<void>[] {
  const waits: Promise<void>[] = []
  for (const s of sessions) {
    if (s.child.pending) waits.push(launched(s.child))
    else if (s.running && s.handover() === null) waits.push(s.exited.then(noop, noop))
  }
  return waits
}

/** The records of the running sessions and the fds to keep open. Synchronous, as capture(). */
export function capturePtys(
  sessions: PtySession[],
  guardOf: (s: PtySession) => number | null,
): { records: PtyRecord[]; keepFds: number[] } {
  const records: PtyRecord[] = []
  const keepFds: number[] = []
  for (const s of sessions) {
    if (!s.running) continue
    const h = s.handover()
    if (h === null) throw coded(`PTY session ${s.pid} changed state during the handover`, 'HANDOVER_BUSY')
    const c = s.child
    const cg = c.cgroup instanceof ProcessCgroup ? c.cgroup : null
    records.push({
      pid: s.pid,
      pidfd: h.pidfd,
      master: h.master,
      pts: h.pts,
      command: s.command,
      args: s.args,
      rows: s.rows,
      cols: s.cols,
      createdAt: s.createdAt,
      user: c.user ?? { uid: 0, gid: 0 },
      startedAt: c.startedAt,
      elapsedMs: c.elapsedMs,
      ending: c.ending.current,
      killedBySupervisor: c.killedBySupervisor,
      cgroup:
        cg === null ? null : { path: cg.path, mode: cg.mode, baseline: cg.oomBaseline, memoryLimit: cg.memoryLimit },
      watchdog: guardOf(s),
    })
    keepFds.push(h.pidfd, h.master)
  }
  return { records, keepFds }
}

/**
 * Rebuilds each session around its inherited master and child, in the state's order. A
 * program that exited during the swap is reaped here and its session ends as usual,
 * after the last byte of its terminal.
 */
export function adoptPtys(
  table: ProcessTable,
  records: PtyRecord[],
  old: OldWatchdogs,
  transitMs: number,
  total: number,
): PtySession[] {
  const native: NativeBinding = table.native
  return records.map((r) => {
    // Inherited without FD_CLOEXEC: no program started from here may hold the terminal.
    native.setCloexec(r.master)
    const session = PtySession.resume(table, {
      req: { command: r.command, args: r.args },
      rows: r.rows,
      cols: r.cols,
      createdAt: r.createdAt,
      running: {
        master: r.master,
        pts: r.pts,
        child: table.adoptChild({ sessionTree: true }, total),
        launch: inheritedLaunch(native, r, [-1, -1, -1], transitMs, { pipes: {}, treeKilled: false }),
      },
    })
    old.add(r.watchdog, session)
    return session
  })
}
