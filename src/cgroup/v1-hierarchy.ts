/**
 * A v1 hierarchy apart from the memory one (this machine mounts `pids` and `cpu` on
 * their own): its per-supervisor directory `<own>/sandproc/s<pid>-<hex>/`, named as the
 * memory one, and one cgroup per process that asks for its controller. A supervisor
 * whose processes never ask touches the hierarchy only at start and close; from the
 * first that asks on, a small pool made in the background keeps the mkdir (about
 * 100 µs here) off the spawn path.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { mkdirOnce, rmdirQuiet } from './subtree-control.js'
import { CgroupUnavailable } from './errors.js'
import { V1Cgroup, rmdirRetry } from './v1-cgroup.js'
import { DirPool } from './dir-pool.js'
import { killPass, killUntilEmpty } from './kill.js'

/** The limit controllers beside memory. */
export type Controller = 'pids' | 'cpu'

/** The v1 controllers sandproc uses beside memory: the limit ones and the freezer (freezer.ts). */
export type V1Controller = Controller | 'freezer'

/** A file every cgroup of the controller has (the hierarchy's root lacks some, so checked below it). */
export const PROBE_FILE: Record<V1Controller, string> = {
  pids: 'pids.max',
  cpu: 'cpu.cfs_quota_us',
  freezer: 'freezer.state',
}

/** Cgroups kept ready per hierarchy once it is in use, as for memory. */
const POOL_SIZE = 4

/** Where a v1 hierarchy is and this process's cgroup in it. */
export interface V1Site {
  mountPoint: string
  /** This process's own cgroup in the hierarchy. */
  ownDir: string
  /** The controllers it carries (`cpu` and `pids` may share one). */
  controllers: V1Controller[]
}

/** The per-supervisor directory of one v1 hierarchy. */
export class V1Hierarchy {
  private closing: Promise<void> | null = null
  /** Made ahead, never used; filled only once a process has asked for this hierarchy. */
  private readonly pool = new DirPool(POOL_SIZE, () => this.nextDir())
  private count = 0

  private constructor(
    readonly controllers: V1Controller[],
    readonly dir: string,
    private readonly parent: string,
    private readonly parentIsDefault: boolean,
  ) {}

  /**
   * Makes `<parent>/<name>` (parent default `<own>/sandproc`, created if absent) and
   * checks it carries the controllers' files.
   * @throws CgroupUnavailable saying why; leaves nothing behind.
   */
  static setup(site: V1Site, name: string, parentOverride?: string): V1Hierarchy {
    const isDefault = parentOverride === undefined
    const parent = isDefault ? path.join(site.ownDir, 'sandproc') : path.resolve(parentOverride)
    const dir = path.join(parent, name)
    const label = site.controllers.join(',')
    if (!fs.existsSync(isDefault ? site.ownDir : parent))
      throw new CgroupUnavailable(`${isDefault ? site.ownDir : parent} does not exist`)
    let createdParent = false
    try {
      createdParent = isDefault && mkdirOnce(parent)
      fs.mkdirSync(dir)
    } catch (err) {
      if (createdParent) rmdirQuiet(parent)
      throw new CgroupUnavailable(`cannot create ${dir} in the ${label} hierarchy: ${(err as Error).message}`)
    }
    const missing = site.controllers.map((c) => PROBE_FILE[c]).find((f) => !fs.existsSync(path.join(dir, f)))
    if (missing !== undefined) {
      rmdirQuiet(dir)
      if (isDefault) rmdirQuiet(parent)
      throw new CgroupUnavailable(`${dir} has no ${missing}: not a ${label} cgroup`)
    }
    return new V1Hierarchy(site.controllers, dir, parent, isDefault)
  }

  /** A cgroup for one process, pooled or made now. Sync: on the spawn path. */
  create(): V1Cgroup {
    const pooled = this.pool.take()
    let cg: V1Cgroup
    try {
      cg = pooled === undefined ? V1Cgroup.createSync(this.nextDir()) : V1Cgroup.createSync(pooled, true)
    } catch (err) {
      // A pooled directory someone removed: make one now.
      if (pooled === undefined) throw err
      cg = V1Cgroup.createSync(this.nextDir())
    }
    this.pool.refill()
    return cg
  }

  /**
   * A bare cgroup made now, outside the pool: a process's freezer cgroup, made on its
   * first freeze (freezer.ts). The caller removes it (`rmdirRetry`).
   */
  makeDir(): string {
    const dir = this.nextDir()
    fs.mkdirSync(dir)
    return dir
  }

  /** Resolves once the pool is filled (or filling stopped); for tests. */
  async prepared(): Promise<void> {
    await this.pool.settled()
  }

  private nextDir(): string {
    return path.join(this.dir, `p${++this.count}`)
  }

  /**
   * Kills what is left in any cgroup of the directory (none should be: processes leave
   * with their memory cgroup's), removes them, the directory, and an empty default parent.
   */
  close(): Promise<void> {
    this.closing ??= this.teardown()
    return this.closing
  }

  private async teardown(): Promise<void> {
    // Pooled directories are removed with the rest of the directory below.
    await this.pool.drain()
    const entries = await fs.promises.readdir(this.dir, { withFileTypes: true }).catch(() => [])
    const results = await Promise.allSettled(
      entries
        .filter((e) => e.isDirectory())
        .map(async (e) => {
          const dir = path.join(this.dir, e.name)
          await killUntilEmpty(dir, () => killPass(dir, false)).catch(() => {})
          await rmdirRetry(dir)
        }),
    )
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    await rmdirRetry(this.dir)
    if (this.parentIsDefault) await fs.promises.rmdir(this.parent).catch(() => {})
  }
}
