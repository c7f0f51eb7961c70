/**
 * Per-process memory cgroups (issue 3, spec §4 "OOM"): detection of the memory
 * hierarchy, one cgroup per process taken from a small pool prepared in the background,
 * and removal of everything on close. The supervisor integrates it; the native spawn
 * joins the child through the fds of {@link ProcessCgroup}.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { CgroupUnavailable, detectLayout, type LayoutOptions } from './detect.js'
import { cgroupError } from './errors.js'
import { parseMemoryLimit } from './limit.js'
import { CgroupHandle, type ProcessCgroup } from './process.js'
import { removeSupervisorDir, setupSupervisorDir, type Setup, type SetupOptions } from './setup.js'

export type { CgroupError } from './errors.js'
export type { FsKind } from './detect.js'
export type { CgroupCounters, ProcessCgroup } from './process.js'
export { parseMemoryLimit }

/** What the supervisor can do with cgroups here (`sup.capabilities`). */
export interface CgroupCapabilities {
  cgroup: 'v2' | 'v1' | null
  /** True when the kernel's per-cgroup `oom_kill` counter can be read. */
  oomDetection: boolean
  /** Why cgroups or OOM detection are off. */
  reason?: string
}

/** Options of {@link CgroupManager.detect}; every input defaults to the live system. */
export interface CgroupOptions extends LayoutOptions, SetupOptions {
  /** Cgroups kept ready for the next spawns. Default 4; 0 creates each on demand. */
  poolSize?: number
}

/** Options of {@link CgroupManager.acquire}. */
export interface AcquireOptions {
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
  private readonly poolSize: number
  /** Created directories waiting for a process; their fds are opened only by acquire(), so an idle pool holds none. */
  private readonly pool: string[] = []
  private readonly held = new Set<CgroupHandle>()
  private filling: Promise<void> | null = null
  private count = 0
  private closing: Promise<void> | null = null

  private constructor(setup: Setup | null, capabilities: CgroupCapabilities, poolSize: number) {
    this.setup = setup
    this.capabilities = capabilities
    this.dir = setup?.dir ?? null
    this.poolSize = poolSize
    this.refill()
  }

  /**
   * Detects the memory hierarchy and prepares this supervisor's directory (module doc
   * of `cgroup-setup.ts` and spec §4). Sync; never throws: a failure becomes
   * `capabilities = { cgroup: null, oomDetection: false, reason }`.
   */
  static detect(opts: CgroupOptions = {}): CgroupManager {
    const poolSize = opts.poolSize ?? 4
    try {
      const setup = setupSupervisorDir(detectLayout(opts), opts)
      const caps: CgroupCapabilities = { cgroup: setup.mode, oomDetection: setup.oomReason === undefined }
      if (setup.oomReason !== undefined) caps.reason = setup.oomReason
      return new CgroupManager(setup, caps, poolSize)
    } catch (err) {
      const reason = err instanceof CgroupUnavailable ? err.message : String((err as Error | null)?.message ?? err)
      return new CgroupManager(null, { cgroup: null, oomDetection: false, reason }, poolSize)
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
    if (this.closing !== null) throw cgroupError('ESHUTDOWN', 'manager is closed')
    if (this.setup === null) {
      if (limit === undefined) return null
      throw cgroupError('ENOTSUP', `memory_limit needs a memory cgroup, which is unavailable: ${this.capabilities.reason}`)
    }
    const cg = this.fromPool(this.setup.mode) ?? CgroupHandle.createSync(this.nextDir(), this.setup.mode)
    this.refill()
    if (limit !== undefined) {
      try {
        cg.setLimitSync(limit, opts.oomGroup ?? true)
      } catch (err) {
        cg.destroySync()
        throw err
      }
    }
    this.held.add(cg)
    cg.onRemoved = () => this.held.delete(cg)
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
    await this.filling
    if (this.setup === null) return
    const held = [...this.held]
    const results = await Promise.allSettled([
      ...held.map(async (cg) => {
        await cg.killAll().catch(() => {})
        await cg.release()
      }),
      ...this.pool.splice(0).map((dir) => fs.promises.rmdir(dir).catch(() => {})),
    ])
    results.push(...(await this.sweep(this.setup)))
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
          const cg = CgroupHandle.openSync(path.join(setup.dir, e.name), setup.mode)
          await cg.killAll().catch(() => {})
          await cg.release()
        }),
    )
  }

  /** Resolves once the pool is filled (or filling stopped on an error); for tests and warm-up. */
  async prepared(): Promise<void> {
    await this.filling
  }

  /** A pooled directory, opened; null when the pool is empty (or its entry unusable, then removed). */
  private fromPool(mode: 'v1' | 'v2'): CgroupHandle | null {
    const dir = this.pool.shift()
    if (dir === undefined) return null
    try {
      return CgroupHandle.openSync(dir, mode, true)
    } catch {
      fs.rm(dir, { recursive: false, force: true }, () => {})
      return null
    }
  }

  private nextDir(): string {
    return path.join(this.dir ?? '', `p${++this.count}`)
  }

  /** Tops the pool up in the background; a failure just leaves acquire() to create inline. */
  private refill(): void {
    const setup = this.setup
    if (setup === null || this.filling !== null || this.closing !== null || this.pool.length >= this.poolSize) return
    this.filling = (async () => {
      while (this.closing === null && this.pool.length < this.poolSize) {
        const dir = this.nextDir()
        await fs.promises.mkdir(dir)
        this.pool.push(dir)
      }
    })()
      .catch(() => {})
      .finally(() => {
        this.filling = null
      })
  }
}
