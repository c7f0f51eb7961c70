/**
 * What a reap tells, the same for a process and a PTY session: the status and CPU times
 * from the addon, the wall time, and every counter of the child's cgroup as the addon
 * read them right after the reap (the kernel raises oom_kill before it sends SIGKILL,
 * so an OOM kill of the main process is always visible here).
 */
import type { NativeExitCallback } from '../native.js'
import type { Reaped } from './exit.js'
import type { ProcessCgroupHandle } from './launch.js'

/** The reap's facts; `startedMono` is `performance.now()` at the spawn. */
export function reapedOf(
  cgroup: ProcessCgroupHandle | null,
  startedMono: number,
  ...[code, signal, userUs, sysUs, texts]: Parameters<NativeExitCallback>
): Reaped {
  let counters: ReturnType<ProcessCgroupHandle['readCounters']> = { oomKills: null, memoryPeak: null }
  try {
    if (cgroup !== null) counters = cgroup.readCounters(texts)
  } catch {
    // A counter we cannot read is a counter we do not claim anything from.
  }
  const wallMs = Math.round((performance.now() - startedMono) * 1000) / 1000
  return {
    code,
    signal,
    userUs,
    sysUs,
    wallMs,
    oomKills: counters.oomKills,
    peak: counters.memoryPeak,
    pids: counters.pids,
    cpuThrottledMs: counters.cpuThrottledMs,
  }
}
