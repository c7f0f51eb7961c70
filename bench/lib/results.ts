/** The shape of bench/results.json and the ratio rule shared by the table and the chart. */
import type { MachineFacts } from './machine.js'
import type { Summary } from './stats.js'

/**
 * `c_floor` is the C posix_spawn loop, `c_floor_pipes` the same with captured stdout and
 * stderr; in workload 5 `child_process` is the naive server; `bun` is `Bun.spawn` in Bun;
 * `sandproc_own` is sandproc in a Node process of its own, as Bun is measured.
 */
export type ContenderName =
  | 'sandproc'
  | 'sandproc_nocg'
  | 'sandproc_own'
  | 'bun'
  | 'child_process'
  | 'execa'
  | 'c_floor'
  | 'c_floor_pipes'
  | 'node_pty'

export interface Measure {
  /** Stable key, e.g. `w1.true`, used by targets. */
  id: string
  workload: string
  label: string
  /** Unit of the samples; every measure here is a time or a count, lower is better. */
  unit: 'ms' | 'fds' | 'MiB' | 'KiB' | 'count' | 'bytes'
  /** When set, the samples are times of one operation that moved this many lines and bytes. */
  work?: { lines: number; bytes: number }
  results: Partial<Record<ContenderName, Summary>>
  /** Each run's figure, in order, when a workload repeats whole runs (W7): the spread of a ratio. */
  runs?: Partial<Record<ContenderName, number[]>>
}

export interface TargetResult {
  workload: string
  text: string
  /** The measured ratio (or MiB), null when a contender is missing. */
  measured: number | null
  unit: '×' | 'MiB' | 'ms' | 'count' | 'bytes'
  op: '>=' | '<=' | '<' | '>'
  threshold: number
  pass: boolean | null
}

export interface BenchResults {
  command: string
  quick: boolean
  machine: MachineFacts
  /** Where the run started and where sandproc's cgroups went (lib/shape.ts). */
  sandproc: { cgroup: string; startedIn?: string; shape?: string; ownShape?: string }
  /** `bun --version` of the Bun contender; null when it was left out. */
  bun: string | null
  measures: Measure[]
  targets: TargetResult[]
  notes: string[]
  /** Wall time of each workload, seconds. */
  durations: Record<string, number>
}

/**
 * How many times better sandproc is than `other` on a measure: other's median over
 * sandproc's (all measures are lower-is-better), so above 1 means sandproc wins.
 * `self`: which sandproc (`sandproc_own`: the one in a process of its own, Bun's peer).
 */
export function advantage(m: Measure, other: ContenderName, self: ContenderName = 'sandproc'): number | null {
  const s = m.results[self]?.median
  const o = m.results[other]?.median
  // A ratio of two lags near zero (either may be negative) would mean nothing.
  if (s === undefined || o === undefined || s <= 0 || o <= 0) return null
  return o / s
}

/** Lines/s and MB/s at the median time, for measures that carry `work`. */
export function rates(m: Measure, who: ContenderName): { linesPerSec: number; mbPerSec: number } | null {
  const t = m.results[who]?.median
  if (t === undefined || m.work === undefined || t <= 0) return null
  return { linesPerSec: m.work.lines / (t / 1000), mbPerSec: m.work.bytes / 1e6 / (t / 1000) }
}

/** other ÷ sandproc for each run of a measure that kept its runs (paired by index), above 1 a win. */
export function runRatios(m: Measure | undefined, other: ContenderName): number[] {
  const mine = m?.runs?.sandproc ?? []
  const theirs = m?.runs?.[other] ?? []
  return mine.flatMap((s, i) => (s > 0 && theirs[i] > 0 ? [theirs[i] / s] : []))
}
