/**
 * The Performance table of docs/performance.md from bench/results.json (the last
 * `npm run bench`): one row per measure, medians with the p90 in parentheses, one
 * column per contender.
 * usage: tsx bench/readme-table.ts [results.json]
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { BENCH_DIR } from './lib/build.js'
import type { BenchResults, ContenderName, Measure } from './lib/results.js'
import type { Summary } from './lib/stats.js'

const COLUMNS: [ContenderName, string][] = [
  ['sandproc', 'sandproc'],
  ['sandproc_nocg', 'sandproc, no cgroup'],
  ['sandproc_own', 'sandproc, own process'],
  ['bun', 'Bun.spawn'],
  ['child_process', 'child_process'],
  ['execa', 'execa'],
  ['c_floor', 'C floor'],
]

type Show = 'ms' | 'median' | 'lines/s' | 'MB/s' | 'runs/s'

/** README label, how to show the value, and a note for the child_process column. */
const ROWS: [string, string, Show, string?][] = [
  ['w1.true', 'W1 `/bin/true` start→exit, ms', 'ms'],
  ['w1.noop', 'W1 static no-op start→exit, ms', 'ms'],
  ['w1.idle', 'W1 `/bin/true` after 50 ms idle, ms', 'ms'],
  ['w2.buf2', 'W2 `/bin/true`, parent holds 2 GiB of Buffers, ms', 'ms'],
  ['w2.buf2.alone', 'W2 the same, sandproc alone (no peer forking in between), ms', 'ms'],
  ['w2.buf0.alone', 'W2 sandproc alone, parent holds nothing, ms', 'ms'],
  ['w3.spawn', 'W3 1,000 × `sleep 1`: time to start all, ms', 'median'],
  ['w3.eld', 'W3 max event-loop delay during the burst, ms', 'median'],
  ['w4.seq', 'W4 `seq 1 2000000` as line events, lines/s', 'lines/s', ' (readline)'],
  ['w4.cat', 'W4 200 MB of 100-byte lines through `cat`, MB/s', 'MB/s', ' (readline)'],
  ['w5.lines', 'W5 the same `seq` through `POST /processes/run` over HTTP, lines/s', 'lines/s', ' (naive server)'],
  ['w5.rss', 'W5 server RSS growth while streaming, MiB', 'median', ' (naive server)'],
  ['w6.started', 'W6 10,000 × `sleep 5`: processes started (the others failed with `EMFILE`)', 'median'],
  ['w6.spawn', 'W6 time until every launch had started or failed, ms', 'median'],
  ['w6.eld', 'W6 max event-loop delay, ms', 'median'],
  ['w6.fds', 'W6 supervisor fds per process', 'median'],
  ['w6.rss', 'W6 supervisor RSS per process, KiB', 'median'],
  ['w6.close', 'W6 close() after the last exit, every cgroup removed, ms', 'median'],
  ['w7.run', 'W7 server, 64 clients running `/bin/true` for 10 s: completed runs/s', 'runs/s', ' (naive server)'],
  ['w7.p50', 'W7 request latency p50, ms', 'median', ' (naive server)'],
  ['w7.p99', 'W7 request latency p99, ms', 'median', ' (naive server)'],
  ['w7.errors', 'W7 failed requests', 'median', ' (naive server)'],
  ['w7.rss', 'W7 server RSS after the load, MiB', 'median', ' (naive server)'],
]

function num(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`
  if (x >= 1e4) return `${(x / 1e3).toFixed(0)} k`
  if (x >= 100) return x.toFixed(0)
  if (x >= 10) return x.toFixed(1)
  return x.toFixed(x >= 1 || x === 0 ? 2 : 3).replace(/^0\.00$/, '0')
}

function cell(m: Measure, s: Summary | undefined, show: Show): string {
  if (s === undefined) return ''
  switch (show) {
    case 'ms':
      return `${num(s.median)} (${num(s.p90)})`
    case 'median':
      return num(s.median)
    case 'lines/s':
      return num((m.work?.lines ?? 0) / (s.median / 1000))
    case 'MB/s':
      return num((m.work?.bytes ?? 0) / 1e6 / (s.median / 1000))
    case 'runs/s':
      return num(1000 / s.median)
  }
}

const file = process.argv[2] ?? path.join(BENCH_DIR, 'results.json')
const results = JSON.parse(readFileSync(file, 'utf8')) as BenchResults
const byId = new Map(results.measures.map((m) => [m.id, m]))
const used = COLUMNS.filter(([name]) => results.measures.some((m) => m.results[name] !== undefined))
const lines = [`| workload | ${used.map(([, t]) => t).join(' | ')} |`, `|---|${used.map(() => '---|').join('')}`]
for (const [id, label, show, cpNote] of ROWS) {
  const m = byId.get(id)
  if (m === undefined) continue
  const cells = used.map(([name]) => {
    const c = cell(m, m.results[name], show)
    return c !== '' && name === 'child_process' && cpNote !== undefined ? c + cpNote : c
  })
  lines.push(`| ${label} | ${cells.join(' | ')} |`)
}
const mc = results.machine
process.stdout.write(
  `${results.command}, commit ${mc.gitCommit ?? '?'}, ${mc.date}: Linux ${mc.kernel}, ${mc.cpus} CPUs, Node ${mc.node}` +
    `${results.bun === null ? '' : `, Bun ${results.bun}`}, cgroups ${mc.cgroupMode} (sandproc: ${results.sandproc.cgroup}), ` +
    `load ${mc.loadAvgAtStart} at start, ${results.durations.total} s\n\n${lines.join('\n')}\n`,
)
