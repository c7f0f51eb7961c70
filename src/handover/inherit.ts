/**
 * A child the old program ran, as the core takes it in the new one (docs/upgrade.md):
 * its cgroup adopted where it is, its pidfd watched as a spawned child's is, and where it
 * stood. Shared by processes (adopt.ts) and PTY sessions (pty-state.ts).
 */
import { ProcessCgroup } from '../cgroup/index.js'
import type { Ending } from '../core/ending.js'
import type { Launched, ResumedProcess } from '../core/launch.js'
import type { NativeBinding, NativeExitCallback, NativeSpawned } from '../native.js'

/** What every inherited child's record holds. */
export interface InheritedChild {
  pid: number
  pidfd: number
  user: { uid: number; gid: number }
  startedAt: number
  elapsedMs: number
  ending: Ending | null
  killedBySupervisor: boolean
  cgroup: { path: string; mode: 'v1' | 'v2'; baseline: number | null; memoryLimit: number | null } | null
}

/**
 * The launch of an inherited child, for the table's adoption: `fds` its pipes, `more`
 * the rest of where it stood (its pipes' progress, a grace under way). The swap's own
 * time counts as run.
 */
export function inheritedLaunch(
  native: NativeBinding,
  r: InheritedChild,
  fds: NativeSpawned['fds'],
  transitMs: number,
  more: Pick<ResumedProcess, 'pipes' | 'treeKilled'> & Partial<Pick<ResumedProcess, 'graceMs'>>,
): (onExit: NativeExitCallback) => Launched {
  const cgroup =
    r.cgroup === null
      ? null
      : ProcessCgroup.adopt(r.cgroup.path, r.cgroup.mode, r.cgroup.baseline, r.cgroup.memoryLimit)
  return (onExit) => ({
    spawned: {
      pid: r.pid,
      fds,
      clone3: false,
      child: native.adoptChild(r.pid, r.pidfd, cgroup?.exitReads ?? [], onExit),
    },
    cgroup,
    user: r.user,
    resumed: {
      startedAt: r.startedAt,
      elapsedMs: r.elapsedMs + transitMs,
      ending: r.ending,
      killedBySupervisor: r.killedBySupervisor,
      ...more,
    },
  })
}
