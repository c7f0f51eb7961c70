/**
 * One process's own memory cgroup: its limit, the fds the child joins it through, the
 * counters read after the reap, killing what remains, and removal.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { hasCode, wrapFsError } from './errors.js'
import { delay, keyedValue, pidList, readOptionalSync, singleValue, writeIfPresentSync, writeSync } from './fs.js'
import { killPass, killUntilEmpty, signalPass } from './kill.js'
import type { AppliedLimits, LimitCounters } from './applied-limits.js'
import type { NativeCgroupJoin } from '../native.js'

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

/** A process's own cgroup, from {@link CgroupManager.acquire}. */
export interface ProcessCgroup {
  readonly path: string
  readonly mode: 'v1' | 'v2'
  /** The limit written at acquire, bytes; null for none. */
  readonly memoryLimit: number | null
  /** `cgroup.procs`, `O_WRONLY|O_CLOEXEC`: v2's join, v1's fallback join. */
  readonly procsFd: number
  /** v1: `tasks`, `O_WRONLY|O_CLOEXEC`, the join that skips the global lock; -1 on v2 (or without the file). */
  readonly tasksFd: number
  /** How the child joins: v1 `tasks` then `cgroup.procs`, v2 `cgroup.procs` (after clone3 fails). */
  readonly join: NativeCgroupJoin
  /** v2: the directory, `O_RDONLY|O_DIRECTORY|O_CLOEXEC`, for `clone3` `CLONE_INTO_CGROUP`; -1 on v1. */
  readonly dirFd: number
  /** v1 hierarchies apart from memory that a limit needs (pids, cpu): joined after {@link join}, in order. */
  readonly extraJoins: readonly NativeCgroupJoin[]
  /** Closes the fds the child joined through; call once the spawn has returned. */
  closeJoinFds(): void
  /** One synchronous kill pass (v2 `cgroup.kill`, else SIGKILL to each listed pid), for timeouts. */
  kill(): void
  /**
   * Kills what remains after the main process is reaped and resolves once `cgroup.procs`
   * reads empty. Rejects with code EBUSY if processes survive ~10 s (say, stuck in D state).
   */
  killAll(): Promise<void>
  /** One pass of a catchable signal to every process listed in the cgroup. */
  signalAll(sig: number): void
  /** The files the addon reads right after the reap (`exitReads`), for readCounters and emptyAtReap. */
  readonly exitReads: readonly string[]
  /**
   * Synchronous; never throws (an unreadable counter is null). `texts`: the contents of
   * {@link exitReads} read at the reap; without them the files are read now.
   */
  readCounters(texts?: readonly (string | null)[]): CgroupCounters
  /** True when `cgroup.procs`, read at the reap, listed nobody: nothing is left to kill. */
  emptyAtReap(texts?: readonly (string | null)[]): boolean
  /** Closes the fds and removes the directory, retrying ~5 s while busy; rejects with EBUSY after. */
  release(): Promise<void>
}

/**
 * Which files hold what. On v2 the hierarchical `memory.events` is used rather than
 * `memory.events.local`: it exists on every v2 kernel (`.local` only from 5.2), and it
 * still counts an OOM kill when the process tree makes sub-cgroups of its own.
 */
const FILES = {
  v2: { events: 'memory.events', peak: 'memory.peak' },
  v1: { events: 'memory.oom_control', peak: 'memory.max_usage_in_bytes' },
} as const

const RMDIR_BOUND_MS = 5_000

const closeAsync = promisify(fs.close)

/**
 * Processes killed by the OOM killer so far. On v1 that is `oom_kill`. On v2 a group
 * kill (`memory.oom.group`) counts its victim twice in `oom_kill`, once as the chosen
 * victim and again in the sweep over the group (kernel 6.1: one hog alone gives
 * `oom_kill 2`, a shell and its hog `oom_kill 3`, each with `oom_group_kill 1`), so
 * every group kill is subtracted once.
 */
function oomKillsIn(text: string | null, mode: 'v1' | 'v2'): number | null {
  const kills = text === null ? null : keyedValue(text, 'oom_kill')
  if (kills === null || mode === 'v1') return kills
  return kills - (keyedValue(text ?? '', 'oom_group_kill') ?? 0)
}

function readOomKills(dir: string, mode: 'v1' | 'v2'): number | null {
  return oomKillsIn(readOrNull(path.join(dir, FILES[mode].events)), mode)
}

/** The file's text; null when it is missing or unreadable. */
function readOrNull(file: string): string | null {
  try {
    return readOptionalSync(file)
  } catch {
    return null
  }
}

/** What {@link CgroupHandle.exitReads} lists, by index. */
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

/** The {@link ProcessCgroup} implementation; the manager creates and tracks these. */
export class CgroupHandle implements ProcessCgroup {
  memoryLimit: number | null = null
  /** The pids and cpu limits, when the request set any. */
  limits: AppliedLimits | null = null
  /** Called once the directory is gone, so the manager stops tracking it. */
  onRemoved: () => void = () => {}
  private released: Promise<void> | null = null
  private fdsOpen = true
  private hasKillFile: boolean

  readonly join: NativeCgroupJoin
  readonly exitReads: readonly string[]

  private constructor(
    readonly path: string,
    readonly mode: 'v1' | 'v2',
    readonly procsFd: number,
    readonly tasksFd: number,
    readonly dirFd: number,
    private readonly baseline: number | null,
  ) {
    this.hasKillFile = mode === 'v2'
    this.join = tasksFd >= 0 ? { fd: tasksFd, fallbackFd: procsFd, path } : { fd: procsFd, path }
    this.exitReads = [FILES[mode].events, FILES[mode].peak, 'cgroup.procs'].map((f) => `${path}/${f}`)
  }

  /**
   * Opens an existing cgroup directory (created by the caller) and records its baseline.
   * `fresh`: the caller made it and no process ever ran in it, so its counters are zero
   * (a new memcg starts from zero, and a leaf has no descendants to count on v2); the
   * spawn path then skips reading them.
   */
  static openSync(dir: string, mode: 'v1' | 'v2', fresh = false): CgroupHandle {
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
    return new CgroupHandle(dir, mode, procs, tasks, dirFd, fresh ? 0 : readOomKills(dir, mode))
  }

  /** Creates `dir` and opens it; on failure nothing is left. Sync: the spawn path's fallback. */
  static createSync(dir: string, mode: 'v1' | 'v2'): CgroupHandle {
    try {
      fs.mkdirSync(dir)
    } catch (err) {
      throw wrapFsError(err, 'mkdir', dir)
    }
    try {
      return CgroupHandle.openSync(dir, mode, true)
    } catch (err) {
      try {
        fs.rmdirSync(dir)
      } catch {
        // Reported below; the manager's close() removes the supervisor's whole directory.
      }
      throw wrapFsError(err, 'open', dir)
    }
  }

  /**
   * Writes the hard limit. v2: `memory.max`, no swap, and (with `oomGroup`) the whole
   * cgroup killed together on OOM, so no half-killed tree keeps running. v1:
   * `memory.limit_in_bytes` first, because `memsw` must stay >= it. Files a kernel
   * lacks (`memory.swap.max` without swap, `memsw` without swap accounting,
   * `memory.oom.group` before 4.19) are skipped.
   */
  setLimitSync(bytes: number, oomGroup = true): void {
    const files: [string, string, boolean][] =
      this.mode === 'v2'
        ? [['memory.max', String(bytes), true], ['memory.swap.max', '0', false]]
        : [['memory.limit_in_bytes', String(bytes), true], ['memory.memsw.limit_in_bytes', String(bytes), false]]
    if (this.mode === 'v2' && oomGroup) files.push(['memory.oom.group', '1', false])
    for (const [name, value, required] of files) {
      const file = path.join(this.path, name)
      try {
        if (required) writeSync(file, value)
        else writeIfPresentSync(file, value)
      } catch (err) {
        throw wrapFsError(err, `write ${name}`, file)
      }
    }
    this.memoryLimit = bytes
  }

  get extraJoins(): readonly NativeCgroupJoin[] {
    return this.limits?.joins ?? []
  }

  /** The child has joined (or never will): the join fds are not needed any more. */
  closeJoinFds(): void {
    this.limits?.closeJoinFds()
    if (!this.fdsOpen) return
    this.fdsOpen = false
    for (const fd of [this.procsFd, this.tasksFd, this.dirFd]) if (fd >= 0) fs.closeSync(fd)
  }

  kill(): void {
    this.hasKillFile = killPass(this.path, this.hasKillFile)
  }

  killAll(): Promise<void> {
    return killUntilEmpty(this.path, () => this.kill())
  }

  signalAll(sig: number): void {
    signalPass(this.path, sig)
  }

  readCounters(texts?: readonly (string | null)[]): CgroupCounters {
    const [events, peak] =
      texts === undefined ? [readOrNull(this.exitReads[AT_REAP.events]), readOrNull(this.exitReads[AT_REAP.peak])] : [texts[AT_REAP.events], texts[AT_REAP.peak]]
    const now = oomKillsIn(events ?? null, this.mode)
    const memoryPeak = singleValue(peak ?? null)
    return { oomKills: now === null || this.baseline === null ? null : now - this.baseline, memoryPeak, ...this.limits?.counters() }
  }

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

  release(): Promise<void> {
    this.released ??= this.remove()
    return this.released
  }

  private async remove(): Promise<void> {
    // The other hierarchies' cgroups empty with this one (every task of the tree is in each).
    const extras = this.limits?.release() ?? Promise.resolve()
    try {
      await this.removeMemoryDir()
    } finally {
      await extras.catch((err: unknown) => {
        this.released = null
        throw err
      })
    }
  }

  private async removeMemoryDir(): Promise<void> {
    if (this.fdsOpen) {
      // Once only: a closed fd number may already belong to someone else.
      this.fdsOpen = false
      for (const fd of [this.procsFd, this.tasksFd, this.dirFd]) if (fd >= 0) await closeAsync(fd).catch(() => {})
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
