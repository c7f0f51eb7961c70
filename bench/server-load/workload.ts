/**
 * Workload 7: the server under load. 64 clients on loopback run `POST /processes/run`
 * of `/bin/true` in a loop for 10 s (load.ts, a process of its own) against
 * sandproc's server, then against the naive child_process server of workload 5, each
 * server in its own process: completed runs/s, p50 and p99 latency, errors (must be 0),
 * server RSS before and after. Runs/s is stored as its inverse (ms per completed run),
 * so that, as for every other measure, lower is better and a ratio above 1 is a win.
 */
import { readFileSync } from 'node:fs'
import { runScript, startScript, type Service } from '../lib/child.js'
import type { ContenderName, Measure } from '../lib/results.js'
import { which } from '../lib/runner.js'
import { summarize } from '../lib/stats.js'
import type { LoadReport } from './load.js'

const TOKEN = 'bench-token'
export const W7_CLIENTS = 64

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) / 1024
}

export async function w7ServerLoad(opts: { quick: boolean }): Promise<{ measures: Measure[]; notes: string[] }> {
  const seconds = opts.quick ? 3 : 10
  const program = which('true')
  const reports = new Map<ContenderName, LoadReport & { rssBefore: number; rssAfter: number }>()
  for (const [name, kind] of [
    ['sandproc', 'sandproc'],
    ['child_process', 'naive'],
  ] as const) {
    const server: Service<{ port: number }> = await startScript('http/server.ts', [kind, TOKEN], { timeoutMs: 20_000 })
    try {
      const load = (s: number): Promise<LoadReport> =>
        runScript<LoadReport>(
          'server-load/load.ts',
          [String(server.info.port), TOKEN, String(s), String(W7_CLIENTS), program],
          { timeoutMs: (s + 60) * 1000 },
        )
      await load(1) // warm-up: JIT, connections, the cgroup pool
      const rssBefore = rssMiB(server.pid)
      const r = await load(seconds)
      reports.set(name, { ...r, rssBefore, rssAfter: rssMiB(server.pid) })
    } finally {
      await server.stop()
    }
  }
  const workload = `W7 server, ${W7_CLIENTS} clients × ${seconds} s of /bin/true (child_process = naive server)`
  const one = (f: (r: LoadReport & { rssBefore: number; rssAfter: number }) => number): Measure['results'] =>
    Object.fromEntries([...reports].map(([name, r]) => [name, summarize([f(r)])]))
  const measures: Measure[] = [
    {
      id: 'w7.run',
      workload,
      label: 'ms per completed run (1 / runs/s)',
      unit: 'ms',
      results: one((r) => 1000 / r.runsPerSec),
    },
    { id: 'w7.p50', workload, label: 'request latency p50', unit: 'ms', results: one((r) => r.p50Ms) },
    { id: 'w7.p99', workload, label: 'request latency p99', unit: 'ms', results: one((r) => r.p99Ms) },
    { id: 'w7.errors', workload, label: 'failed requests', unit: 'count', results: one((r) => r.errors) },
    { id: 'w7.rss', workload, label: 'server RSS after the load', unit: 'MiB', results: one((r) => r.rssAfter) },
  ]
  const notes = [...reports].map(
    ([name, r]) =>
      `W7 ${name === 'child_process' ? 'naive server' : 'sandproc server'}: ${r.runsPerSec.toFixed(0)} runs/s (${r.runs} in ${(r.durationMs / 1000).toFixed(1)} s), ` +
      `p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ${r.errors} errors${r.firstError ? ` (first: ${r.firstError})` : ''}, ` +
      `RSS ${r.rssBefore.toFixed(0)} → ${r.rssAfter.toFixed(0)} MiB`,
  )
  return { measures, notes }
}
