/**
 * Whether the child's cgroup join can wait on the kernel's global
 * `cgroup_threadgroup_rwsem` (after a quiet spell its writer waits a whole RCU grace
 * period, 10 to 17 ms here). Only a join that cannot is done on the JS thread.
 *
 * - v1: the child writes `0` to `tasks`, which moves the calling thread alone;
 *   `cgroup_procs_write_start` skips the lock for that since "cgroup: Optimize single
 *   thread migration" (mainline 5.5, stable 5.4.213). Older kernels take it for `tasks`
 *   as for `cgroup.procs`.
 * - v2: `clone3(CLONE_INTO_CGROUP)` migrates nothing. Where it is refused the addon
 *   itself stops spawning inline (its `cgroup.procs` fallback takes the lock).
 */

/** `uname -r` → [major, minor, patch]; unparsable parts are 0. */
export function kernelVersion(release: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release)
  return m === null ? [0, 0, 0] : [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)]
}

/** True when joining a cgroup of this mode on this kernel takes no global lock. */
export function lockFreeJoin(mode: 'v1' | 'v2' | null, release: string): boolean {
  if (mode !== 'v1') return true
  const [major, minor, patch] = kernelVersion(release)
  if (major !== 5) return major > 5
  return minor > 4 || (minor === 4 && patch >= 213)
}
