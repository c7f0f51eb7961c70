/**
 * Per-process memory cgroups (docs/cgroups.md, docs/protocol.md "OOM"): detection of
 * the memory hierarchy, one cgroup per process taken from a small pool prepared in the
 * background, and removal of everything on close. The supervisor integrates it; the
 * native spawn joins the child through the fds of {@link ProcessCgroup}.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { AppliedLimits, type LimitRequest } from './applied-limits.js'
import {
  detectControllers,
  LIMIT_CONTROLLERS,
  type Controller,
  type ControllerOptions,
  type Controllers,
  type ControllerState,
} from './controllers.js'
import { detectLayout, type LayoutOptions } from './detect.js'
import { cgroupError, CgroupUnavailable } from './errors.js'
import { parseCpuLimit } from './cpu.js'
import { parseMemoryLimit } from './memory.js'
import { parsePidsLimit } from './pids.js'
import type { Placement } from './placement.js'
import { DirPool } from './dir-pool.js'
import { Housekeeping } from './housekeeping.js'
import { detectFreezer, type FreezerDetection } from './freezer.js'
import { ProcessCgroup } from './process.js'
import type { V1Hierarchy } from './v1-hierarchy.js'
import { removeSupervisorDir, setupSupervisorDir, type Setup, type SetupOptions } from './supervisor-dir.js'

/** What the supervisor can do with cgroups here (`sup.capabilities`). */
export interface CgroupCapabilities {
  cgroup: 'v2' | 'v1' | null
  /** True when the kernel's per-cgroup `oom_kill` counter can be read. */
  oomDetection: boolean
  /** Why cgroups or OOM detection are off. */
  reason?: string
  /** With `reason`: the one-line remedy for this deployment shape (docs/deploying.md). */
  fix?: string
  /**
   * Where the per-process cgroups go: this supervisor's directory, and how it was chosen
   * (`own`: under its own cgroup; `init`: the same, after moving a container's other
   * processes into `<root>/init`; `ancestor`: `<ancestor>/sandproc-<pid>/`; `parent`:
   * the parent given). Absent when cgroups are off.
   */
  dir?: string
  placement?: Placement
  /**
   * Which limits can be applied here, and why not (`memory_limit`, `pids_limit`,
   * `cpu_limit`); `freezer`: whether process trees can be frozen (docs/freeze.md).
   */
  controllers: Record<'memory' | Controller | 'freezer', ControllerState>
}

/** Options of {@link CgroupManager.detect}; every input defaults to the live system. */
export interface CgroupOptions extends LayoutOptions, SetupOptions, ControllerOptions {
  /** Cgroups kept ready for the next spawns. Default 4; 0 creates each on demand. */
  poolSize?: number
}

/** Options of {@link CgroupManager.acquire}. */
export interface AcquireOptions extends LimitRequest {
  /** Hard memory limit in bytes (see {@link parseMemoryLimit} for strings). */
  memoryLimit?: number
  /**
   * v2 with a limit: kill the whole cgroup when the OOM killer strikes
   * (`memory.oom.group=1`). Default true. With it, a shell whose child hits the limit
   * dies too (and its SIGKILL counts as an OOM kill of the main process).
   */
  oomGroup?: boolean
}

/** Owns this supervisor's directory of per-process cgroups. */
export class CgroupManager {
  readonly capabilities: CgroupCapabilities
  /** The per-supervisor directory, null when cgroups are unavailable. */
  readonly dir: string | null
  private readonly setup: Setup | null
  /** Null when cgroups are unavailable. */
  private readonly pool: DirPool<ProcessCgroup> | null
  private readonly held = new Set<ProcessCgroup>()
  /** Held cgroups whose process has ended and which are being removed. */
  private removing = 0
  private count = 0
  private closing: Promise<void> | null = null
  /** A refill is queued in {@link housekeeping} (refillSoon). */
  private refillQueued = false
  private readonly housekeeping = new Housekeeping(() => this.held.size - this.removing === 1)
  private readonly controllers: Controllers | null
  private readonly freezer: FreezerDetection | null

  private constructor(
    setup: Setup | null,
    capabilities: CgroupCapabilities,
    poolSize: number,
    controllers: Controllers | null = null,
    freezer: FreezerDetection | null = null,
  ) {
    this.setup = setup
    this.controllers = controllers
    this.freezer = freezer
    this.capabilities = capabilities
    this.dir = setup?.dir ?? null
    this.pool =
      setup === null
        ? null
        : new DirPool(
            poolSize,
            () => this.nextDir(),
            (dir) => ProcessCgroup.openSync(dir, setup.mode, true),
          )
    this.pool?.refill()
  }

  /**
   * Detects the memory hierarchy and prepares this supervisor's directory (module doc
   * of `supervisor-dir.ts` and docs/protocol.md "OOM"). Sync; never throws: a failure
   * becomes `capabilities = { cgroup: null, oomDetection: false, reason }`.
   */
  static detect(opts: CgroupOptions = {}): CgroupManager {
    const poolSize = opts.poolSize ?? 4
    try {
      const layout = detectLayout(opts)
      const setup = setupSupervisorDir(layout, opts)
      const controllers = detectControllers(layout, setup, opts)
      const freezer = detectFreezer(layout, setup, opts, controllers)
      const caps: CgroupCapabilities = {
        cgroup: setup.mode,
        oomDetection: setup.oomReason === undefined,
        controllers: { memory: { usable: true }, ...controllers.states, freezer: freezer.state },
        dir: setup.dir,
        placement: setup.placement,
      }
      if (setup.oomReason !== undefined) caps.reason = setup.oomReason
      return new CgroupManager(setup, caps, poolSize, controllers, freezer)
    } catch (err) {
      const reason = err instanceof CgroupUnavailable ? err.message : String((err as Error | null)?.message ?? err)
      const caps: CgroupCapabilities = { cgroup: null, oomDetection: false, reason, controllers: noControllers(reason) }
      if (err instanceof CgroupUnavailable && err.fix !== undefined) caps.fix = err.fix
      return new CgroupManager(null, caps, poolSize)
    }
  }

  /**
   * A fresh cgroup for one process, on the spawn path (sync). Null when cgroups are
   * unavailable and no limit is asked.
   * @throws CgroupError code ENOTSUP when a limit is asked without cgroups; code of the
   *   failed write otherwise (`syscall: 'cgroup'`, `path`); TypeError for a bad limit.
   */
  acquire(opts: AcquireOptions = {}): ProcessCgroup | null {
    const limit = opts.memoryLimit === undefined ? undefined : parseMemoryLimit(opts.memoryLimit)
    const limits: LimitRequest = {}
    if (opts.pidsLimit !== undefined) limits.pidsLimit = parsePidsLimit(opts.pidsLimit)
    if (opts.cpuLimit !== undefined) limits.cpuLimit = parseCpuLimit(opts.cpuLimit)
    if (this.closing !== null) throw cgroupError('ESHUTDOWN', 'manager is closed')
    if (this.setup === null) {
      if (limit === undefined && Object.keys(limits).length === 0) return null
      const field =
        limit !== undefined ? 'memory_limit' : Object.keys(limits)[0] === 'pidsLimit' ? 'pids_limit' : 'cpu_limit'
      throw cgroupError('ENOTSUP', `${field} needs a memory cgroup, which is unavailable: ${this.capabilities.reason}`)
    }
    // Refused before a cgroup is taken from the pool.
    for (const c of LIMIT_CONTROLLERS) {
      const state = this.capabilities.controllers[c]
      if (limits[`${c}Limit`] !== undefined && !state.usable) {
        throw cgroupError(
          'ENOTSUP',
          `${c}_limit needs the ${c} controller, which is unavailable: ${state.reason ?? ''}`,
        )
      }
    }
    const cg = this.pool?.take() ?? ProcessCgroup.createSync(this.nextDir(), this.setup.mode)
    this.housekeeping.spawnBegun()
    // Topped up once this spawn is handed back, not here (see refillSoon).
    this.refillSoon()
    try {
      if (limit !== undefined) cg.setLimitSync(limit, opts.oomGroup ?? true)
      if (this.controllers !== null && Object.keys(limits).length > 0) {
        cg.limits = AppliedLimits.applySync(cg.path, this.setup.mode, this.controllers, limits)
      }
    } catch (err) {
      cg.destroySync()
      this.housekeeping.spawnEnded()
      throw err
    }
    cg.freezerSite = this.freezer?.site ?? null
    this.held.add(cg)
    cg.onHandedBack = () => this.housekeeping.spawnEnded()
    cg.whenQuiet = () => new Promise((resolve) => this.housekeeping.later(resolve))
    cg.onRelease = () => {
      this.removing++
      this.housekeeping.poke()
      return this.lone()
    }
    cg.onRemoved = () => {
      if (this.held.delete(cg)) this.removing--
    }
    return cg
  }

  /**
   * Kills every process in every cgroup still held, removes them, the pool and the
   * per-supervisor directory (and the default parent when no other supervisor uses it).
   * Idempotent. Rejects with the first failure after trying everything.
   */
  close(): Promise<void> {
    this.closing ??= this.teardown()
    return this.closing
  }

  private async teardown(): Promise<void> {
    const pooled = (await this.pool?.drain()) ?? []
    if (this.setup === null) return
    const held = [...this.held]
    const results = await Promise.allSettled([
      ...held.map(async (cg) => {
        await cg.killAll().catch(() => {})
        await cg.release()
      }),
      ...pooled.map((cg) => cg.release().catch(() => {})),
    ])
    results.push(...(await this.sweep(this.setup)))
    // Then the other hierarchies, whose cgroups emptied with the memory ones.
    const hierarchies = this.hierarchies()
    results.push(...(await Promise.allSettled([...hierarchies].map((h) => h.close()))))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    await removeSupervisorDir(this.setup)
  }

  /** Cgroups nobody tracks any more (a failed removal on the spawn path) go too. */
  private async sweep(setup: Setup): Promise<PromiseSettledResult<void>[]> {
    const entries = await fs.promises.readdir(setup.dir, { withFileTypes: true }).catch(() => [])
    return Promise.allSettled(
      entries
        .filter((e) => e.isDirectory())
        .map(async (e) => {
          const cg = ProcessCgroup.openSync(path.join(setup.dir, e.name), setup.mode)
          await cg.killAll().catch(() => {})
          await cg.release()
        }),
    )
  }

  /**
   * Every per-supervisor directory, memory first, then the other v1 hierarchies':
   * what the watchdog sweeps if the supervisor dies.
   */
  get dirs(): string[] {
    if (this.dir === null) return []
    return [this.dir, ...[...this.hierarchies()].map((h) => h.dir)]
  }

  /** The v1 hierarchies apart from memory that have a directory of this supervisor's. */
  private hierarchies(): Set<V1Hierarchy> {
    const own = this.freezer?.own
    return new Set([...(this.controllers?.hierarchies.values() ?? []), ...(own ? [own] : [])])
  }

  /** Resolves once the pool is filled (or filling stopped on an error); for tests and warm-up. */
  async prepared(): Promise<void> {
    this.housekeeping.flush()
    await this.pool?.settled()
  }

  /**
   * The pool is topped up on a turn of the event loop with no spawn between its clone and
   * its hand-back (housekeeping.ts): after the spawn that took from it has had its start
   * event, and, while that process runs alone, after its exit or the next spawn's
   * hand-back.
   */
  private refillSoon(): void {
    if (this.refillQueued || this.pool === null) return
    this.refillQueued = true
    this.housekeeping.later(() => {
      this.refillQueued = false
      // A lone spawn's child is running now and this thread would only wait for it: the
      // mkdir and the opens cost less here than a threadpool round trip, whose two
      // wake-ups can each cost a time slice on a loaded machine (docs/performance.md).
      // Under load (a burst) the refill stays in the background, off this thread.
      if (this.lone()) this.pool?.refillOneSync()
      this.pool?.refill()
    }, true)
  }

  /** At most one process of this supervisor is running (the one just spawned). */
  private lone(): boolean {
    return this.held.size - this.removing <= 1
  }

  private nextDir(): string {
    return path.join(this.dir ?? '', `p${++this.count}`)
  }
}

function noControllers(reason: string): CgroupCapabilities['controllers'] {
  const off: ControllerState = { usable: false, reason }
  return { memory: off, pids: off, cpu: off, freezer: off }
}
