/**
 * Workload 5: `seq 1 2000000` end to end over HTTP on loopback, sandproc's server against
 * the naive child_process + readline server, requests alternating between them. Each
 * server runs in its own process; this process is the client and samples the servers' RSS.
 */
import { readFileSync } from 'node:fs'
import { seqBytes } from '../lib/build.js'
import { startScript, type Service } from '../lib/child.js'
import type { ContenderName, Measure } from '../lib/results.js'
import { which } from '../lib/runner.js'
import { runOverSse } from '../lib/sse-client.js'
import { summarize } from '../lib/stats.js'

const TOKEN = 'bench-token'

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) / 1024
}

interface Sampled {
  ms: number
  /** Peak RSS during the request above the server's idle RSS (before any request). */
  rssGrowthMiB: number
}

/** One request, with the server's RSS sampled every 20 ms while it runs. */
async function measured(server: Service<{ port: number }>, lines: number, idleMiB: number): Promise<Sampled> {
  let peak = rssMiB(server.pid)
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(server.pid))), 20)
  try {
    const r = await runOverSse(server.info.port, TOKEN, { command: which('seq'), args: ['1', String(lines)] })
    if (r.lines !== lines) throw new Error(`server delivered ${r.lines} of ${lines} lines`)
    return { ms: r.ms, rssGrowthMiB: Math.max(peak, rssMiB(server.pid)) - idleMiB }
  } finally {
    clearInterval(timer)
  }
}

export async function w5Http(opts: { quick: boolean }): Promise<{ measures: Measure[]; notes: string[] }> {
  // The naive server moves well under a million lines/s: --quick streams fewer lines to
  // stay inside its minute.
  const LINES = opts.quick ? 500_000 : 2_000_000
  // In this workload's table the child_process column is the naive server.
  const servers: [ContenderName, Service<{ port: number }>][] = []
  try {
    for (const [name, kind] of [
      ['sandproc', 'sandproc'],
      ['child_process', 'naive'],
    ] as const) {
      servers.push([name, await startScript<{ port: number }>('http/server.ts', [kind, TOKEN], { timeoutMs: 20_000 })])
    }
    const idle = new Map(servers.map(([name, s]) => [name, rssMiB(s.pid)]))
    for (const [name, s] of servers) await measured(s, 100_000, idle.get(name) ?? 0) // warm-up: JIT, sockets
    const times = new Map<ContenderName, number[]>()
    const rss = new Map<ContenderName, number[]>()
    const rounds = opts.quick ? 1 : 3
    for (let r = 0; r < rounds; r++) {
      for (const [name, s] of servers) {
        const got = await measured(s, LINES, idle.get(name) ?? 0)
        times.set(name, [...(times.get(name) ?? []), got.ms])
        rss.set(name, [...(rss.get(name) ?? []), got.rssGrowthMiB])
      }
    }
    const results = (m: Map<ContenderName, number[]>): Measure['results'] =>
      Object.fromEntries([...m].map(([name, xs]) => [name, summarize(xs)]))
    const workload = 'W5 HTTP SSE (child_process = naive server)'
    return {
      measures: [
        {
          id: 'w5.lines',
          workload,
          label: `seq 1 ${LINES} over POST /processes/run`,
          unit: 'ms',
          work: { lines: LINES, bytes: seqBytes(LINES) },
          results: results(times),
        },
        { id: 'w5.rss', workload, label: 'server RSS growth during the stream', unit: 'MiB', results: results(rss) },
      ],
      notes: [
        `W5 idle server RSS before any request: ${[...idle].map(([n, v]) => `${n} ${v.toFixed(0)} MiB`).join(', ')}`,
      ],
    }
  } finally {
    await Promise.all(servers.map(([, s]) => s.stop()))
  }
}
