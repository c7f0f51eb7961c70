/**
 * Killing everything in a cgroup: v2 `cgroup.kill` (5.14) where present, else SIGKILL to
 * each pid listed in `cgroup.procs`, repeated until it reads empty (a process may fork
 * between the read and the kill).
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { cgroupError } from './errors.js'
import { delay, pidList, readOptionalSync, writeIfPresentSync } from './fs.js'

/** How long killAll waits for the cgroup to empty before reporting survivors. */
const KILL_BOUND_MS = 10_000

/**
 * One synchronous kill pass over `dir`. Returns whether `cgroup.kill` did it (false when
 * the kernel lacks it, so the caller stops trying it).
 */
export function killPass(dir: string, tryKillFile: boolean): boolean {
  if (tryKillFile) {
    try {
      if (writeIfPresentSync(path.join(dir, 'cgroup.kill'), '1')) return true
    } catch {
      // Fall through to the per-pid pass.
    }
  }
  let text: string
  try {
    text = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
  } catch {
    return false
  }
  // A pid read here could exit and be reused before the signal lands; the window is
  // microseconds, and cgroup.kill (used first where it exists) has none.
  for (const pid of pidList(text)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // ESRCH: already gone. EPERM: reported through killUntilEmpty's bound.
    }
  }
  return false
}

/**
 * A catchable signal (a timeout's SIGTERM) to each pid listed in `dir/cgroup.procs`, once:
 * those that handle it get their chance to clean up; what is left gets killPass later.
 */
export function signalPass(dir: string, sig: number): void {
  const text = readOptionalSync(path.join(dir, 'cgroup.procs'))
  if (text === null) return
  for (const pid of pidList(text)) {
    try {
      process.kill(pid, sig)
    } catch {
      // ESRCH: already gone; EPERM: the SIGKILL pass reports what survives.
    }
  }
}

/**
 * Runs `pass` until `dir/cgroup.procs` reads empty, with growing pauses (dying tasks
 * take a moment to leave). Rejects with code EBUSY after {@link KILL_BOUND_MS}.
 */
export async function killUntilEmpty(dir: string, pass: () => void): Promise<void> {
  const procs = path.join(dir, 'cgroup.procs')
  const deadline = Date.now() + KILL_BOUND_MS
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    // Sync: a small file the kernel generates, read in microseconds, where an async
    // readFile costs four thread-pool round trips on the exit event's critical path.
    const text = readOptionalSync(procs)
    if (text === null) return // removed already: nothing is left in it
    const left = pidList(text)
    if (left.length === 0) return
    if (Date.now() > deadline) throw cgroupError('EBUSY', `kill: ${left.length} processes survive in`, dir)
    pass()
    await delay(wait)
  }
}
