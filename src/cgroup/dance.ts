/**
 * Giving child cgroups the memory controller on cgroup v2, and the "no internal
 * processes" dance that needs (docs/protocol.md "OOM"): a cgroup holding processes
 * cannot enable controllers for its children (the real root is exempt), so the
 * supervisor first moves into a leaf `<own>/supervisor` beside the cgroups it will
 * create.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { CgroupUnavailable } from './detect.js'
import { hasCode } from './errors.js'
import { pidList, writeSync } from './fs.js'

/** The leaf the supervisor moves into. */
export const LEAF = 'supervisor'

/** Creates `dir`; false when it already existed. */
export function mkdirOnce(dir: string): boolean {
  try {
    fs.mkdirSync(dir)
    return true
  } catch (err) {
    if (hasCode(err, 'EEXIST')) return false
    throw err
  }
}

/** Removes `dir` if it can; a busy or vanished directory is someone else's to remove. */
export function rmdirQuiet(dir: string): void {
  try {
    fs.rmdirSync(dir)
  } catch {
    // Busy or already gone.
  }
}

/**
 * Lets `dir`'s children have the memory controller (`cgroup.subtree_control`).
 * A vanished `dir` throws ENOENT (the caller may retry); one holding processes EBUSY.
 */
export function enableMemory(dir: string): void {
  const read = (f: string): string[] => fs.readFileSync(path.join(dir, f), 'utf8').split(/\s+/)
  if (read('cgroup.subtree_control').includes('memory')) return
  if (!read('cgroup.controllers').includes('memory')) {
    throw new CgroupUnavailable(
      `the memory controller is not available in ${dir} (not delegated to it)`,
      'under systemd set Delegate=yes in the unit (as deploy/sandproc.service does); else pass --cgroup-parent DIR',
    )
  }
  writeSync(path.join(dir, 'cgroup.subtree_control'), '+memory')
}

/** {@link enableMemory} for a directory sandproc made and that should hold no process. */
export function enableMemoryNoProcesses(dir: string): void {
  try {
    enableMemory(dir)
  } catch (err) {
    if (!hasCode(err, 'EBUSY')) throw err
    throw new CgroupUnavailable(`${dir} holds processes, so cgroup v2 cannot give its children the memory controller`)
  }
}

/** The parent pid from `/proc/<pid>/stat` (the comm field may hold spaces and parentheses). */
function parentOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return null
  }
}

function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p: number | null = pid, hops = 0; p !== null && p > 1 && hops < 256; hops++) {
    p = parentOf(p)
    if (p === ancestor) return true
  }
  return false
}

/** `own` holds processes that are not the supervisor's: placement.ts looks further. */
export class SharedCgroup extends CgroupUnavailable {
  override name = 'SharedCgroup'
}

/** The supervisor and its descendants among the processes of `own` (they cannot stay behind). */
export function ours(own: string, self: number): number[] {
  const pids = pidList(fs.readFileSync(path.join(own, 'cgroup.procs'), 'utf8'))
  return pids.filter((p) => p === self || descendsFrom(p, self))
}

/**
 * Enables memory for `own`'s children, moving the supervisor (and the processes it
 * already started, such as a tool's helper, which inherited its cgroup) into
 * `<own>/supervisor` when `own` holds processes. Processes that are not ours are left
 * where they are: if any remain, everything moved goes back and the reason says why.
 */
export function enableMemoryWithDance(own: string, self: number): void {
  try {
    return enableMemory(own)
  } catch (err) {
    if (!hasCode(err, 'EBUSY')) throw err
  }
  const leaf = path.join(own, LEAF)
  const created = mkdirOnce(leaf)
  const moved: number[] = []
  // A process we move may fork meanwhile, its child landing in `own`: look again.
  for (let round = 0; round < 3; round++) {
    const mine = ours(own, self)
    for (const pid of mine) {
      try {
        writeSync(path.join(leaf, 'cgroup.procs'), String(pid))
        moved.push(pid)
      } catch (err) {
        if (!hasCode(err, 'ESRCH')) throw err
      }
    }
    try {
      return enableMemory(own)
    } catch (err) {
      if (!hasCode(err, 'EBUSY')) throw err
    }
    if (mine.length === 0) break
  }
  for (const pid of moved) {
    try {
      writeSync(path.join(own, 'cgroup.procs'), String(pid))
    } catch {
      // Exited, or staying in the leaf: harmless either way.
    }
  }
  if (created) rmdirQuiet(leaf)
  throw new SharedCgroup(
    `${own} holds processes other than this supervisor and its children, so cgroup v2 cannot give its child cgroups the memory controller ("no internal processes")`,
    'start sandproc as the only process of a cgroup of its own, or pass --cgroup-parent DIR',
  )
}
