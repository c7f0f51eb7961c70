/**
 * Freezing a process tree through its cgroup (docs/freeze.md). v2: `cgroup.freeze` of
 * the process's own cgroup, confirmed by `frozen 1` in its `cgroup.events`. v1: the
 * `freezer` hierarchy's `freezer.state`, in the memory cgroup itself where the freezer
 * is co-mounted with memory, else in a cgroup of the freezer hierarchy made on the first
 * freeze, into which the tree's processes are moved then: a process that never freezes
 * costs nothing more at its spawn.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { ControllerState } from './controllers.js'
import { v1Site, type Controllers, type ControllerOptions } from './controllers.js'
import type { Layout, LayoutOptions } from './detect.js'
import { cgroupError, hasCode } from './errors.js'
import { delay, keyedValue, pidList, readOrNull, writeSync } from './fs.js'
import type { Setup } from './supervisor-dir.js'
import { rmdirRetry } from './v1-cgroup.js'
import { V1Hierarchy } from './v1-hierarchy.js'

/** Where freezing happens: v2 in each process's cgroup; v1 in a hierarchy (null: co-mounted with memory). */
export type FreezerSite = { mode: 'v2' } | { mode: 'v1'; hierarchy: V1Hierarchy | null }

/** What {@link detectFreezer} found. */
export interface FreezerDetection {
  state: ControllerState
  site: FreezerSite | null
  /** A hierarchy made for the freezer alone: closed with the manager. */
  own: V1Hierarchy | null
}

/** How long a freeze may take to be confirmed (a task in uninterruptible sleep holds it up). */
const CONFIRM_BOUND_MS = 10_000

const off = (reason: string): FreezerDetection => ({ state: { usable: false, reason }, site: null, own: null })

/**
 * Decides whether processes can be frozen here, after the memory directory is set up.
 * v1 with a hierarchy of its own: makes the per-supervisor directory there (named as
 * the memory one). Never throws.
 */
export function detectFreezer(
  layout: Layout,
  setup: Setup,
  opts: LayoutOptions & ControllerOptions,
  controllers: Controllers,
): FreezerDetection {
  const choice = opts.hierarchies?.freezer
  if (choice === false) return off('the freezer is turned off (hierarchies.freezer: false)')
  if (layout.mode === 'v2') {
    if (fs.existsSync(path.join(setup.dir, 'cgroup.freeze')))
      return { state: { usable: true }, site: { mode: 'v2' }, own: null }
    return off(`${setup.dir} has no cgroup.freeze (kernel older than 5.2)`)
  }
  const site = v1Site(opts, 'freezer')
  if (typeof site === 'string') return off(site)
  if (site.mountPoint === layout.mountPoint) {
    if (!fs.existsSync(path.join(setup.dir, 'freezer.state'))) return off(`${setup.dir} has no freezer.state`)
    return { state: { usable: true }, site: { mode: 'v1', hierarchy: null }, own: null }
  }
  // Co-mounted with pids or cpu: their per-supervisor directory serves.
  const shared = [...controllers.hierarchies.values()].find((h) => h.dir.startsWith(`${site.mountPoint}/`))
  if (shared !== undefined) return { state: { usable: true }, site: { mode: 'v1', hierarchy: shared }, own: null }
  try {
    const own = V1Hierarchy.setup(site, path.basename(setup.dir), typeof choice === 'string' ? choice : undefined)
    return { state: { usable: true }, site: { mode: 'v1', hierarchy: own }, own }
  } catch (err) {
    return off((err as Error).message)
  }
}

/** Polls `done` with growing pauses until it holds; rejects with EBUSY after the bound. */
async function until(done: () => boolean, what: string, dir: string): Promise<void> {
  const deadline = Date.now() + CONFIRM_BOUND_MS
  for (let wait = 1; !done(); wait = Math.min(wait * 2, 50)) {
    if (Date.now() > deadline) throw cgroupError('EBUSY', `${what}: not confirmed within 10 s in`, dir)
    await delay(wait)
  }
}

/** The freezer of one process's tree; made by its {@link ProcessCgroup} on the first freeze. */
export class ProcessFreezer {
  /** A freeze was asked for and no thaw since (true from the start of {@link freeze}). */
  frozen = false
  /** Where the state file is; v1 with a hierarchy: null until the first freeze makes it. */
  #dir: string | null

  constructor(
    private readonly site: FreezerSite,
    /** The process's memory cgroup: whose processes the tree is. */
    private readonly memoryDir: string,
  ) {
    this.#dir = site.mode === 'v1' && site.hierarchy !== null ? null : memoryDir
  }

  /** Stops every task of the tree; resolves once the kernel says all are frozen. */
  async freeze(): Promise<void> {
    this.frozen = true
    if (this.site.mode === 'v2') {
      writeSync(path.join(this.memoryDir, 'cgroup.freeze'), '1')
      return until(() => this.#v2Frozen() === 1, 'freeze', this.memoryDir)
    }
    const dir = (this.#dir ??= this.#makeDir())
    // Frozen first, then filled: a process moved into a frozen cgroup is frozen on arrival.
    const state = path.join(dir, 'freezer.state')
    writeSync(state, 'FROZEN')
    await until(
      () => {
        if (this.#gather(dir) === 0 && this.#v1State(dir) === 'FROZEN') return true
        // The kernel asks each task once per write: one that was running then and went
        // to sleep where no signal wakes it (a vfork parent) is missed until the next
        // write. runc's v1 freezer writes again for the same reason.
        writeSync(state, 'FROZEN')
        return false
      },
      'freeze',
      dir,
    )
  }

  /** Resumes the tree; resolves once the kernel says so (v1 thaws at once). */
  async thaw(): Promise<void> {
    this.thawSync()
    if (this.site.mode === 'v2') await until(() => this.#v2Frozen() !== 1, 'thaw', this.memoryDir)
  }

  /**
   * Resumes the tree without waiting: after a kill pass, so that the SIGKILLs are
   * delivered (v1 holds every signal of a frozen task until the thaw). Never throws
   * for a cgroup already removed.
   */
  thawSync(): void {
    if (!this.frozen) return
    this.frozen = false
    if (this.#dir === null) return
    const [file, value] = this.site.mode === 'v2' ? ['cgroup.freeze', '0'] : ['freezer.state', 'THAWED']
    try {
      writeSync(path.join(this.#dir, file), value)
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err
    }
  }

  /** Removes the v1 cgroup made for the freezer; the tree is dead (it emptied with its memory cgroup). */
  async release(): Promise<void> {
    if (this.#dir !== null && this.#dir !== this.memoryDir) await rmdirRetry(this.#dir)
  }

  #makeDir(): string {
    const hierarchy = this.site.mode === 'v1' ? this.site.hierarchy : null
    try {
      return hierarchy!.makeDir()
    } catch (err) {
      throw cgroupError((err as NodeJS.ErrnoException).code ?? 'EIO', 'mkdir', hierarchy?.dir, err)
    }
  }

  /**
   * Moves the tree's processes that are not in the freezer cgroup yet into it; returns
   * how many. A process forked before its parent moved lands outside: the next round
   * moves it, and forks stop once every process is in (and frozen).
   */
  #gather(dir: string): number {
    if (dir === this.memoryDir) return 0
    const inside = new Set(pidList(readOrNull(path.join(dir, 'cgroup.procs')) ?? ''))
    let moved = 0
    for (const pid of pidList(readOrNull(path.join(this.memoryDir, 'cgroup.procs')) ?? '')) {
      if (inside.has(pid)) continue
      try {
        writeSync(path.join(dir, 'cgroup.procs'), String(pid))
        moved++
      } catch (err) {
        // Exited meanwhile.
        if (!hasCode(err, 'ESRCH')) throw err
      }
    }
    return moved
  }

  /** `FROZEN` once every task is; reading it is what makes the kernel check (`FREEZING` before). */
  #v1State(dir: string): string {
    return (readOrNull(path.join(dir, 'freezer.state')) ?? '').trim()
  }

  #v2Frozen(): number | null {
    return keyedValue(readOrNull(path.join(this.memoryDir, 'cgroup.events')) ?? '', 'frozen')
  }
}
