/**
 * What the soak compares between its checkpoints: this process's open fds, its live
 * children and zombies, the cgroup directories of its supervisor, and its memory.
 */
import { readdirSync, readFileSync } from 'node:fs'

import { supervisorCgroupDirs } from '../test/helpers/hardening.js'

export interface Snapshot {
  /** Runs finished when taken. */
  runs: number
  fds: number
  /** Direct children that are alive (not zombies). */
  children: number
  zombies: number
  /** Directories under this process's per-supervisor cgroup directories (`s<pid>-*`), themselves included. */
  cgroupDirs: number
  rssBytes: number
  heapUsedBytes: number
}

function procChildren(): { children: number; zombies: number } {
  let children = 0
  let zombies = 0
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue
    let text: string
    try {
      text = readFileSync(`/proc/${name}/stat`, 'utf8')
    } catch {
      continue
    }
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
    if (Number(rest[1]) !== process.pid) continue
    if (rest[0] === 'Z') zombies++
    else children++
  }
  return { children, zombies }
}

/** Collects garbage first when Node runs with --expose-gc, so memory figures compare like with like. */
export function snapshot(runs: number, collect = true): Snapshot {
  const gc = (globalThis as { gc?: () => void }).gc
  if (collect && gc !== undefined) {
    gc()
    gc()
  }
  const mem = process.memoryUsage()
  return {
    runs,
    fds: readdirSync('/proc/self/fd').length - 1,
    ...procChildren(),
    cgroupDirs: supervisorCgroupDirs(process.pid),
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
  }
}

/** Figures that must not drift; the cgroup pool refills in the background, so wait for them to settle. */
function key(s: Snapshot): string {
  return `${s.fds}/${s.children}/${s.zombies}/${s.cgroupDirs}`
}

/**
 * A snapshot once fds, children, zombies and cgroup directories have stayed the same for
 * 10 polls 10 ms apart (the supervisor's cgroup pool refills asynchronously after a
 * burst), or after 3 s; then with garbage collected.
 */
export async function settledSnapshot(runs: number): Promise<Snapshot> {
  let last = ''
  let same = 0
  for (let i = 0; i < 300 && same < 10; i++) {
    await new Promise<void>((resolve) => setTimeout(resolve, 10))
    const k = key(snapshot(runs, false))
    same = k === last ? same + 1 : 0
    last = k
  }
  return snapshot(runs)
}
