/**
 * One process's own cgroup ({@link ProcessCgroup}): the memory cgroup every process gets,
 * with the pids and cpu limits beside it when asked (applied-limits.ts); the fds the
 * child joins it through, the counters read after the reap, killing what remains, and
 * removal. What the memory files mean: memory.ts.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { hasCode, wrapFsError } from './errors.js'
import { delay, pidList, readOrNull, singleValue } from './fs.js'
import { killPass, killUntilEmpty, signalPass } from './kill.js'
import type { AppliedLimits, LimitCounters } from './applied-limits.js'
import { ProcessFreezer, type FreezerSite } from './freezer.js'
import type { NativeCgroupJoin } from '../native.js'
import { MEMORY_FILES, oomKillsIn, readOomKills, writeMemoryLimit } from './memory.js'

/** Counters of a process's cgroup, read after the process is reaped (pids and cpu: only with their limit). */
export interface CgroupCounters extends LimitCounters {
  /**
   * Processes the OOM killer killed in the cgroup since it was created: the rise of
   * `oom_kill` (v2 corrected for group kills, see `readOomKills`); null when the kernel
   * lacks the counter.
   */
  oomKills: number | null
  /** Peak memory charged to the cgroup, bytes; null when the kernel lacks the file. */
  memoryPeak: number | null
}

const RMDIR_BOUND_MS = 5_000

const closeAsync = promisify(fs.close)

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd)
  } catch {
    // Closed already: nothing to release.
  }
}

/** rmdir on this thread; true once the directory is gone (removed now or before). */
function rmdirNow(dir: string): boolean {
  try {
    fs.rmdirSync(dir)
    return true
  } catch (err) {
    return hasCode(err, 'ENOENT')
  }
}

/** What {@link ProcessCgroup.exitReads} lists, by index. */
const AT_REAP = { events: 0, peak: 1, procs: 2 } as const

/** Opened for writing; -1 when the file does not exist (the join then has only its fallback). */
function openIfPresent(file: string): number {
  try {
    return fs.openSync(file, fs.constants.O_WRONLY)
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return -1
    throw err
  }
}

/** A process's own cgroup, from {@link CgroupManager.acquire}; the manager creates and tracks these. */
export class ProcessCgroup {
  /** The limit written at acquire, bytes; null for none. */
  memoryLimit: number | null = null
  /** The pids and cpu limits, when the request set any. */
  limits: AppliedLimits | null = null
  /** Where the tree can be frozen (set by the manager); null where it cannot. */
  freezerSite: FreezerSite | null = null
  #freezer: ProcessFreezer | null = null
  /** Called once the directory is gone, so the manager stops tracking it. */
  onRemoved: () => void = () => {}
  /**
   * Called once when removal starts; true when the supervisor has at most one other
   * process running, and the rmdir may then run on this thread (see removeMemoryDir).
   */
  onRelease: () => boolean = () => false
  /** Called once when the spawn that joins this cgroup is handed back to JS, or never will be. */
  onHandedBack: () => void = () => {}
  /** Resolves on a later turn with no spawn in flight (the manager's housekeeping). */
  whenQuiet: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve))
  private handedBack = false
  private released: Promise<void> | null = null
  private releaseStarted = false
  private fdsOpen = true
  private hasKillFile: boolean

  /** How the child joins: v1 `tasks` then `cgroup.procs`, v2 `cgroup.procs` (after clone3 fails). */
  readonly join: NativeCgroupJoin
  /** The files the addon reads right after the reap (`exitReads`), for readCounters and emptyAtReap. */
  readonly exitReads: readonly string[]

  private constructor(
    readonly path: string,
    readonly mode: 'v1' | 'v2',
    /** `cgroup.procs`, `O_WRONLY|O_CLOEXEC`: v2's join, v1's fallback join. */
    readonly procsFd: number,
    /** v1: `tasks`, `O_WRONLY|O_CLOEXEC`, the join that skips the global lock; -1 on v2 (or without the file). */
    readonly tasksFd: number,
    /** v2: the directory, `O_RDONLY|O_DIRECTORY|O_CLOEXEC`, for `clone3` `CLONE_INTO_CGROUP`; -1 on v1. */
    readonly dirFd: number,
    private readonly baseline: number | null,
  ) {
    this.hasKillFile = mode === 'v2'
    this.join = tasksFd >= 0 ? { fd: tasksFd, fallbackFd: procsFd, path } : { fd: procsFd, path }
    this.exitReads = [MEMORY_FILES[mode].events, MEMORY_FILES[mode].peak, 'cgroup.procs'].map((f) => `${path}/${f}`)
  }

  /**
   * Opens an existing cgroup directory (created by the caller) and records its baseline.
   * `fresh`: the caller made it and no process ever ran in it, so its counters are zero
   * (a new memcg starts from zero, and a leaf has no descendants to count on v2); the
   * spawn path then skips reading them.
   */
  static openSync(dir: string, mode: 'v1' | 'v2', fresh = false): ProcessCgroup {
    const procs = fs.openSync(path.join(dir, 'cgroup.procs'), fs.constants.O_WRONLY)
    let dirFd = -1
    let tasks = -1
    try {
      if (mode === 'v2') dirFd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY)
      else tasks = openIfPresent(path.join(dir, 'tasks'))
    } catch (err) {
      fs.closeSync(procs)
      throw err
    }
    return new ProcessCgroup(dir, mode, procs, tasks, dirFd, fresh ? 0 : readOomKills(dir, mode))
  }

  /**
   * A cgroup the old server ran a process in, after a live upgrade (docs/upgrade.md):
   * no join fds (the child is in it already), the old server's baseline and limit.
   */
  static adopt(dir: string, mode: 'v1' | 'v2', baseline: number | null, memoryLimit: number | null): ProcessCgroup {
    const cg = new ProcessCgroup(dir, mode, -1, -1, -1, baseline)
    cg.fdsOpen = false
    cg.memoryLimit = memoryLimit
    return cg
  }

  /** What a live upgrade hands over: the OOM counter's baseline (null: the kernel has none). */
  get oomBaseline(): number | null {
    return this.baseline
  }

  /** Creates `dir` and opens it; on failure nothing is left. Sync: the spawn path's fallback. */
  static createSync(dir: string, mode: 'v1' | 'v2'): ProcessCgroup {
    try {
      fs.mkdirSync(dir)
    } catch (err) {
      throw wrapFsError(err, 'mkdir', dir)
    }
    try {
      return ProcessCgroup.openSync(dir, mode, true)
    } catch (err) {
      try {
        fs.rmdirSync(dir)
      } catch {
        // Reported below; the manager's close() removes the supervisor's whole directory.
      }
      throw wrapFsError(err, 'open', dir)
    }
  }

  /** Writes the hard memory limit (memory.ts says which files and why). */
  setLimitSync(bytes: number, oomGroup = true): void {
    writeMemoryLimit(this.path, this.mode, bytes, oomGroup)
    this.memoryLimit = bytes
  }

  /** v1 hierarchies apart from memory that a limit needs (pids, cpu): joined after {@link join}, in order. */
  get extraJoins(): readonly NativeCgroupJoin[] {
    return this.limits?.joins ?? []
  }

  /** The child has joined (or never will): the join fds are not needed any more. */
  closeJoinFds(): void {
    this.endSpawn()
    this.limits?.closeJoinFds()
    if (!this.fdsOpen) return
    this.fdsOpen = false
    for (const fd of [this.procsFd, this.tasksFd, this.dirFd]) if (fd >= 0) fs.closeSync(fd)
  }

  private endSpawn(): void {
    if (this.handedBack) return
    this.handedBack = true
    this.onHandedBack()
  }

  /** The tree's freezer, made on first use; null where there is none. */
  get freezer(): ProcessFreezer | null {
    if (this.#freezer === null && this.freezerSite !== null)
      this.#freezer = new ProcessFreezer(this.freezerSite, this.path)
    return this.#freezer
  }

  /**
   * One synchronous kill pass (v2 `cgroup.kill`, else SIGKILL to each listed pid), for
   * timeouts; a frozen tree is thawed after it, so that the SIGKILLs are delivered
   * before any task runs again.
   */
  kill(): void {
    this.hasKillFile = killPass(this.path, this.hasKillFile)
    this.#freezer?.thawSync()
  }

  /**
   * Kills what remains after the main process is reaped and resolves once `cgroup.procs`
   * reads empty. Rejects with code EBUSY if processes survive ~10 s (say, stuck in D state).
   */
  killAll(): Promise<void> {
    return killUntilEmpty(this.path, () => this.kill())
  }

  /** One pass of a catchable signal to every process listed in the cgroup. */
  signalAll(sig: number): void {
    signalPass(this.path, sig)
  }

  /**
   * Synchronous; never throws (an unreadable counter is null). `texts`: the contents of
   * {@link exitReads} read at the reap; without them the files are read now.
   */
  readCounters(texts?: readonly (string | null)[]): CgroupCounters {
    const [events, peak] =
      texts === undefined
        ? [readOrNull(this.exitReads[AT_REAP.events]), readOrNull(this.exitReads[AT_REAP.peak])]
        : [texts[AT_REAP.events], texts[AT_REAP.peak]]
    const now = oomKillsIn(events ?? null, this.mode)
    const memoryPeak = singleValue(peak ?? null)
    return {
      oomKills: now === null || this.baseline === null ? null : now - this.baseline,
      memoryPeak,
      ...this.limits?.counters(),
    }
  }

  /** True when `cgroup.procs`, read at the reap, listed nobody: nothing is left to kill. */
  emptyAtReap(texts?: readonly (string | null)[]): boolean {
    const procs = texts?.[AT_REAP.procs]
    return typeof procs === 'string' && pidList(procs).length === 0
  }

  /** Sync removal of a cgroup no process ever joined (a failed limit write on the spawn path). */
  destroySync(): void {
    this.limits?.destroySync()
    if (this.fdsOpen) {
      this.fdsOpen = false
      for (const fd of [this.procsFd, this.tasksFd, this.dirFd]) if (fd >= 0) fs.closeSync(fd)
    }
    try {
      fs.rmdirSync(this.path)
    } catch {
      // Left to the manager's close(), which removes the supervisor's whole directory.
    }
  }

  /** Closes the fds and removes the directory, retrying ~5 s while busy; rejects with EBUSY after. */
  release(): Promise<void> {
    this.released ??= this.remove()
    return this.released
  }

  private async remove(): Promise<void> {
    this.endSpawn()
    // Once: a retry after a failed removal (the manager's close) is not counted again.
    const lone = this.releaseStarted ? false : this.onRelease()
    this.releaseStarted = true
    // The other hierarchies' cgroups empty with this one (every task of the tree is in each).
    const extras = Promise.all([this.limits?.release(), this.#freezer?.release()])
    try {
      await this.removeMemoryDir(lone)
    } finally {
      await extras.catch((err: unknown) => {
        this.released = null
        throw err
      })
    }
  }

  private async removeMemoryDir(lone: boolean): Promise<void> {
    if (this.fdsOpen) {
      // Once only: a closed fd number may already belong to someone else.
      this.fdsOpen = false
      const fds = [this.procsFd, this.tasksFd, this.dirFd].filter((fd) => fd >= 0)
      // Alone, as the rmdir below: three threadpool round trips would cost more than the closes.
      for (const fd of fds) {
        if (lone) closeQuietly(fd)
        else await closeAsync(fd).catch(() => {})
      }
    }
    // With no other process of the supervisor running, the rmdir waits for a turn with no
    // spawn in flight (the caller's next spawn is then handed back) and runs on this
    // thread while that child runs: cheaper than a threadpool round trip
    // (docs/performance.md). Busy (EBUSY) or failed, it falls back to the loop below.
    if (lone) {
      await this.whenQuiet()
      if (rmdirNow(this.path)) return this.onRemoved()
    }
    const deadline = Date.now() + RMDIR_BOUND_MS
    // Just-killed tasks can keep a cgroup busy for a moment after cgroup.procs is empty.
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        await fs.promises.rmdir(this.path)
        break
      } catch (err) {
        if (hasCode(err, 'ENOENT')) break
        if (!hasCode(err, 'EBUSY') || Date.now() > deadline) {
          // Let a later release() (the manager's close) try again.
          this.released = null
          throw wrapFsError(err, 'rmdir', this.path)
        }
      }
      await delay(wait)
    }
    this.onRemoved()
  }
}
