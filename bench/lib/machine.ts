/** Facts about the machine a run was measured on, stored with every result. */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, statfsSync } from 'node:fs'
import os from 'node:os'

export interface MachineFacts {
  kernel: string
  arch: string
  cpus: number
  cpuModel: string
  memTotalGiB: number
  node: string
  cgroupMode: 'v2' | 'hybrid' | 'v1' | 'unknown'
  /** 1-minute load average when the run started: a crude noise indicator on a shared box. */
  loadAvgAtStart: number
  nofileLimit: string
  gitCommit: string | null
  date: string
}

const CGROUP2_SUPER_MAGIC = 0x63677270
const TMPFS_MAGIC = 0x01021994

/** The same decision as crun: cgroup2 at the root is unified; tmpfs with cgroup2 under `unified` is hybrid. */
function cgroupMode(): MachineFacts['cgroupMode'] {
  try {
    const root = statfsSync('/sys/fs/cgroup').type
    if (root === CGROUP2_SUPER_MAGIC) return 'v2'
    if (root !== TMPFS_MAGIC) return 'unknown'
    if (existsSync('/sys/fs/cgroup/unified') && statfsSync('/sys/fs/cgroup/unified').type === CGROUP2_SUPER_MAGIC) {
      return 'hybrid'
    }
    return 'v1'
  } catch {
    return 'unknown'
  }
}

function nofileLimit(): string {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const parts = line?.split(/\s{2,}/) ?? []
    return `${parts[1] ?? '?'}/${parts[2] ?? '?'}`
  } catch {
    return 'unknown'
  }
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim()
  } catch {
    return null
  }
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus()
  return {
    kernel: os.release(),
    arch: process.arch,
    cpus: os.availableParallelism(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    memTotalGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    cgroupMode: cgroupMode(),
    loadAvgAtStart: Math.round(os.loadavg()[0] * 100) / 100,
    nofileLimit: nofileLimit(),
    gitCommit: gitCommit(),
    date: new Date().toISOString(),
  }
}
