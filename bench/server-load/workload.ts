/**
 * Workload 7: the server under load. 64 clients on loopback run `POST /processes/run`
 * of `/bin/true` in a loop for 10 s (load.ts, a process of its own) against
 * sandproc's server and against the naive child_process server of workload 5, each
 * server in its own process: completed runs/s, p50 and p99 latency, errors (must be 0),
 * server RSS before and after. Runs/s is stored as its inverse (ms per completed run),
 * so that, as for every other measure, lower is better and a ratio above 1 is a win.
 *
 * One load run of 10 s moves by a factor of two on a shared machine, so the two servers
 * run W7_RUNS times, alternating (which goes first swaps every round, so that drift
 * lands on both), and each measure keeps every run's figure: the ratio's spread over the
 * runs is printed, and the target is met only when the worst run meets it.
 */
import { readFileSync } from 'node:fs'
import { runScript, startScript, type Service } from '../lib/child.js'
import { type ContenderName, type Measure, runRatios } from '../lib/results.js'
import { which } from '../lib/runner.js'
import { summarize } from '../lib/stats.js'
import type { LoadReport } from './load.js'

const TOKEN = 'bench-token'
export const W7_CLIENTS = 64
export const W7_RUNS = 3

type Report = LoadReport & { rssBefore: number; rssAfter: number }

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) / 1024
}

const SERVERS = [
  ['sandproc', 'sandproc'],
  ['child_process', 'naive'],
] as const

export async function w7ServerLoad(opts: { quick: boolean }): Promise<{ measures: Measure[]; notes: string[] }> {
  const seconds = opts.quick ? 3 : 10
  const program = which('true')
  const servers = new Map<ContenderName, Service<{ port: number }>>()
  const reports = new Map<ContenderName, Report[]>()
  try {
    for (const [name, kind] of SERVERS) {
      servers.set(name, await startScript('http/server.ts', [kind, TOKEN], { timeoutMs: 20_000 }))
      reports.set(name, [])
    }
    const load = (name: ContenderName, s: number): Promise<LoadReport> =>
      runScript<LoadReport>(
        'server-load/load.ts',
        [String(servers.get(name)?.info.port), TOKEN, String(s), String(W7_CLIENTS), program],
        { timeoutMs: (s + 60) * 1000 },
      )
    // Warm-up: JIT, connections, the cgroup pool.
    for (const [name] of SERVERS) await load(name, 1)
    for (let run = 0; run < W7_RUNS; run++) {
      const order = run % 2 === 0 ? SERVERS : [...SERVERS].reverse()
      for (const [name] of order) {
        const pid = servers.get(name)?.pid ?? 0
        const rssBefore = rssMiB(pid)
        const r = await load(name, seconds)
        reports.get(name)?.push({ ...r, rssBefore, rssAfter: rssMiB(pid) })
      }
    }
  } finally {
    for (const server of servers.values()) await server.stop()
  }

  const workload = `W7 server, ${W7_CLIENTS} clients × ${seconds} s of /bin/true, ${W7_RUNS} runs (child_process = naive server)`
  const each = (f: (r: Report) => number): Measure['results'] =>
    Object.fromEntries([...reports].map(([name, rs]) => [name, summarize(rs.map(f))]))
  const runs = (f: (r: Report) => number): Measure['runs'] =>
    Object.fromEntries([...reports].map(([name, rs]) => [name, rs.map(f)]))
  const perRun = (r: Report): number => 1000 / r.runsPerSec
  const measures: Measure[] = [
    {
      id: 'w7.run',
      workload,
      label: 'ms per completed run (1 / runs/s)',
      unit: 'ms',
      results: each(perRun),
      runs: runs(perRun),
    },
    { id: 'w7.p50', workload, label: 'request latency p50', unit: 'ms', results: each((r) => r.p50Ms) },
    { id: 'w7.p99', workload, label: 'request latency p99', unit: 'ms', results: each((r) => r.p99Ms) },
    { id: 'w7.errors', workload, label: 'failed requests', unit: 'count', results: each((r) => r.errors) },
    { id: 'w7.rss', workload, label: 'server RSS after the load', unit: 'MiB', results: each((r) => r.rssAfter) },
  ]
  const notes = [...reports].flatMap(([name, rs]) =>
    rs.map(
      (r, i) =>
        `W7 ${name === 'child_process' ? 'naive server' : 'sandproc server'}, run ${i + 1}: ${r.runsPerSec.toFixed(0)} runs/s (${r.runs} in ${(r.durationMs / 1000).toFixed(1)} s), ` +
        `p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ${r.errors} errors${r.firstError ? ` (first: ${r.firstError})` : ''}, ` +
        `RSS ${r.rssBefore.toFixed(0)} → ${r.rssAfter.toFixed(0)} MiB`,
    ),
  )
  const ratios = runRatios(measures[0], 'child_process')
  if (ratios.length > 0) notes.unshift(`W7 ${spreadText(ratios)}`)
  return { measures, notes }
}

/** "sandproc ÷ naive server completed runs/s over 3 runs: min 2.9×, median 3.2×, max 3.4×". */
export function spreadText(ratios: readonly number[]): string {
  const s = summarize(ratios)
  return (
    `sandproc ÷ naive server completed runs/s over ${s.n} runs: ` +
    `min ${s.min.toFixed(2)}×, median ${s.median.toFixed(2)}×, max ${s.max.toFixed(2)}× ` +
    `(in order: ${ratios.map((r) => r.toFixed(2)).join(', ')})`
  )
}
