/**
 * One process's cgroup in a v1 hierarchy apart from memory (pids, cpu): the fds its
 * child joins it through, and its removal after the exit.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { rmdirQuiet } from './subtree-control.js'
import { hasCode, wrapFsError } from './errors.js'
import { delay } from './fs.js'

const RMDIR_BOUND_MS = 5_000
const closeAsync = promisify(fs.close)

/** Removes `dir`, retrying while just-killed tasks keep it busy; ENOENT is done. */
export async function rmdirRetry(dir: string, boundMs = RMDIR_BOUND_MS): Promise<void> {
  const deadline = Date.now() + boundMs
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      await fs.promises.rmdir(dir)
      return
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return
      if (!hasCode(err, 'EBUSY') || Date.now() > deadline) throw wrapFsError(err, 'rmdir', dir)
    }
    await delay(wait)
  }
}

/** One process's cgroup in a {@link V1Hierarchy}: the fds the child joins it through. */
export class V1Cgroup {
  private fdsOpen = true
  private released: Promise<void> | null = null

  private constructor(
    readonly path: string,
    /** `tasks`, `O_WRONLY|O_CLOEXEC`: the child writes `"0"` to move only itself (no global lock). */
    readonly tasksFd: number,
    /** `cgroup.procs`, `O_WRONLY|O_CLOEXEC`: the fallback join. */
    readonly procsFd: number,
  ) {}

  /** Creates `dir` (unless `exists`, a pooled one) and opens its join files; on failure nothing is left. */
  static createSync(dir: string, exists = false): V1Cgroup {
    if (!exists) {
      try {
        fs.mkdirSync(dir)
      } catch (err) {
        throw wrapFsError(err, 'mkdir', dir)
      }
    }
    let tasks = -1
    try {
      tasks = fs.openSync(path.join(dir, 'tasks'), fs.constants.O_WRONLY)
      return new V1Cgroup(dir, tasks, fs.openSync(path.join(dir, 'cgroup.procs'), fs.constants.O_WRONLY))
    } catch (err) {
      if (tasks >= 0) fs.closeSync(tasks)
      rmdirQuiet(dir)
      throw wrapFsError(err, 'open', dir)
    }
  }

  closeJoinFds(): void {
    if (!this.fdsOpen) return
    this.fdsOpen = false
    fs.closeSync(this.tasksFd)
    fs.closeSync(this.procsFd)
  }

  /** Sync removal of a cgroup no process joined (a failed limit write on the spawn path). */
  destroySync(): void {
    this.closeJoinFds()
    rmdirQuiet(this.path)
  }

  /** Closes the fds (once) and removes the directory; the caller killed what ran in it. */
  release(): Promise<void> {
    this.released ??= (async () => {
      if (this.fdsOpen) {
        this.fdsOpen = false
        await Promise.all([closeAsync(this.tasksFd), closeAsync(this.procsFd)]).catch(() => {})
      }
      await rmdirRetry(this.path)
    })().catch((err: unknown) => {
      // Let a later release() (the hierarchy's close) try again.
      this.released = null
      throw err
    })
    return this.released
  }
}
