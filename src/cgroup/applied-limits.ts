/**
 * The pids and cpu limits of one process (docs/cgroups.md), beside its memory cgroup:
 * written into that cgroup where the controller lives there (v2), or into cgroups of
 * their own hierarchies (v1), which the child joins before exec. Only what the request
 * asks for is made, so a process without these limits costs nothing more.
 */
import type { NativeCgroupJoin } from '../native.js'
import type { Controllers } from './controllers.js'
import { cgroupError } from './errors.js'
import { readThrottledMs, writeCpuLimit } from './cpu.js'
import type { V1Cgroup } from './v1-cgroup.js'
import type { Controller } from './v1-hierarchy.js'
import { readPidsCounters, writePidsLimit, type PidsCounters } from './pids.js'

/** The limits asked for, already validated. */
export interface LimitRequest {
  /** `pids.max`: tasks (processes and threads) of the whole tree. */
  pidsLimit?: number
  /** CPUs, as a CFS quota over a 100 ms period. */
  cpuLimit?: number
}

/** What the limits did, read after the reap; a field is absent when its limit was not set. */
export interface LimitCounters {
  pids?: PidsCounters
  /** Time the tree spent throttled by its CPU quota, ms; null when unreadable. */
  cpuThrottledMs?: number | null
}

/** The limits applied to one process. */
export class AppliedLimits {
  /** Cgroups in other v1 hierarchies, in join order. */
  readonly extras: V1Cgroup[] = []
  private pidsDir: string | null = null
  private cpuDir: string | null = null

  private constructor(private readonly mode: 'v1' | 'v2') {}

  /**
   * Writes the limits for the process whose memory cgroup is `memoryDir`.
   * @throws CgroupError: ENOTSUP for a controller that cannot be used here (the reason
   *   from detection), else the failed mkdir/write; nothing is left behind.
   */
  static applySync(memoryDir: string, mode: 'v1' | 'v2', controllers: Controllers, req: LimitRequest): AppliedLimits {
    const applied = new AppliedLimits(mode)
    const dirFor = (c: Controller): string => {
      const state = controllers.states[c]
      if (!state.usable)
        throw cgroupError(
          'ENOTSUP',
          `${c}_limit needs the ${c} controller, which is unavailable: ${state.reason ?? ''}`,
        )
      if (controllers.inline.has(c)) return memoryDir
      const hierarchy = controllers.hierarchies.get(c)
      if (hierarchy === undefined) throw cgroupError('ENOTSUP', `${c}_limit: no ${c} hierarchy`)
      // pids and cpu co-mounted: one cgroup serves both.
      const existing = applied.extras.find((e) => e.path.startsWith(`${hierarchy.dir}/`))
      if (existing !== undefined) return existing.path
      const extra = hierarchy.create()
      applied.extras.push(extra)
      return extra.path
    }
    try {
      if (req.pidsLimit !== undefined) {
        applied.pidsDir = dirFor('pids')
        writePidsLimit(applied.pidsDir, req.pidsLimit)
      }
      if (req.cpuLimit !== undefined) {
        applied.cpuDir = dirFor('cpu')
        writeCpuLimit(applied.cpuDir, mode, req.cpuLimit)
      }
    } catch (err) {
      applied.destroySync()
      throw err
    }
    return applied
  }

  /** How the child joins each extra cgroup: `tasks`, then `cgroup.procs` as the fallback. */
  get joins(): NativeCgroupJoin[] {
    return this.extras.map((e) => ({ fd: e.tasksFd, fallbackFd: e.procsFd, path: e.path }))
  }

  closeJoinFds(): void {
    for (const e of this.extras) e.closeJoinFds()
  }

  destroySync(): void {
    for (const e of this.extras) e.destroySync()
  }

  /** Removes the extra cgroups; the caller killed the tree (all of it is in its memory cgroup too). */
  async release(): Promise<void> {
    const results = await Promise.allSettled(this.extras.map((e) => e.release()))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  /** Never throws. */
  counters(): LimitCounters {
    const out: LimitCounters = {}
    if (this.pidsDir !== null) out.pids = readPidsCounters(this.pidsDir)
    if (this.cpuDir !== null) out.cpuThrottledMs = readThrottledMs(this.cpuDir, this.mode)
    return out
  }
}
