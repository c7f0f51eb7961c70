/**
 * What `sandproc serve` says at start about where it stands (docs/deploying.md): where
 * the per-process cgroups go, or that OOM detection is off and the one-line fix; and how
 * many processes its fd limit allows. Pure text from the facts, for tests.
 */
import * as fs from 'node:fs'
import type { Capabilities } from '../core/table.js'

/** A running process holds its stdout and stderr pipes and its pidfd. */
export const FDS_PER_PROCESS = 3

const PLACEMENT: Record<NonNullable<Capabilities['placement']>, string> = {
  own: 'under its own cgroup',
  init: "under the container's cgroup root, whose other processes moved to init/",
  ancestor: 'under the nearest ancestor of its shared cgroup that can have the memory controller',
  parent: 'under --cgroup-parent',
}

/** The cgroup lines: one when OOM detection is on, two (why, and the fix) when off. */
export function cgroupLines(caps: Capabilities): string[] {
  if (caps.cgroup !== null && caps.dir !== undefined) {
    const where = caps.placement === undefined ? '' : `, ${PLACEMENT[caps.placement]}`
    const head = `sandproc: per-process cgroups in ${caps.dir} (cgroup ${caps.cgroup}${where})`
    if (caps.oomDetection) return [`${head}; OOM detection on`]
    return [`${head}; OOM detection off: ${caps.reason ?? 'no oom_kill counter'}`]
  }
  const lines = [
    `sandproc: OOM detection off, and memory_limit, pids_limit, cpu_limit refused: ${caps.reason ?? 'no memory cgroup'}`,
  ]
  if (caps.fix !== undefined) lines.push(`sandproc: to turn it on: ${caps.fix}`)
  return lines
}

/** The soft `RLIMIT_NOFILE` from `/proc/self/limits` (Node raises it to the hard one at start), or null. */
export function fdLimit(limits = fs.readFileSync('/proc/self/limits', 'utf8')): number | null {
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'))
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0]
  return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : null
}

/** The fd line: how many running processes the fds left allow, beside the process cap. */
export function fdLine(limit: number | null, open: number, maxProcesses: number): string {
  if (limit === null) return `sandproc: fd limit unlimited; --max-processes ${maxProcesses}`
  const room = Math.max(0, Math.floor((limit - open) / FDS_PER_PROCESS))
  const head = `sandproc: fd limit ${limit} allows about ${room} running processes (${FDS_PER_PROCESS} fds each)`
  if (room >= maxProcesses) return `${head}; --max-processes ${maxProcesses}`
  return `${head}, fewer than --max-processes ${maxProcesses}: past that a start answers 429 TOO_MANY_OPEN_FILES; raise LimitNOFILE`
}

/** The fds this process has open now. */
export function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length
}
