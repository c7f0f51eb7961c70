/**
 * The leak soak (`npm run soak`, docs/guarantees.md): many runs in a row of every kind (exits,
 * signals, timeouts, spawn failures, stdin, kills, trees, users, limits, refusals,
 * floods), then a 1 GB flood through the library and one through the HTTP server to
 * slow readers. Compares open fds, live children, zombies, cgroup directories and memory
 * at the end with the figures after the first 100 runs, and fails (exit 1) on any
 * difference beyond the stated tolerance or any run that ended wrongly.
 *
 *   node --expose-gc --import tsx soak/soak.ts [--short] [--runs N] [--concurrency C]
 *        [--flood-bytes B] [--no-flood] [--json] [--kinds a,b] [--trace]
 *
 * --kinds: only the kinds whose names contain one of these words; --trace: a line on
 * stderr as each run starts and ends (to find the run a crash happened in).
 *
 * --short: 1,000 runs and 100 MB floods (what `npm test` runs). Default: 10,000 runs and
 * 1 GB floods.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { isDeepStrictEqual, parseArgs } from 'node:util'

import { Supervisor } from '../src/index.js'
import { compileC } from '../test/helpers/hardening.js'
import { libraryFlood, serverFlood, type FloodResult } from './flood.js'
import { kinds, type Outcome } from './kinds.js'
import { settledSnapshot, snapshot, type Snapshot } from './measure.js'

const MiB = 1024 * 1024
/** Allowed growth of the JS heap (after GC) between the first and last checkpoints. */
const HEAP_TOLERANCE = 4 * MiB
/**
 * Allowed RSS growth over the second half of the runs. RSS also grows while the process
 * warms up (JIT code, the young generation sized to the allocation rate, allocator arenas
 * of the thread pool) and then stays flat; a leak keeps growing, so the second half is
 * where it shows. 16 MiB over 5,000 runs fails a leak of about 3.4 KB a run; the short
 * form is still warming up in its second half and gets 32 MiB.
 */
const RSS_SLOPE_TOLERANCE = (short: boolean): number => (short ? 32 : 16) * MiB
/** Allowed growth of peak RSS during a flood over the level before it. */
const FLOOD_RSS_BOUND = 128 * MiB

const { values: opts } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    runs: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    'flood-bytes': { type: 'string' },
    'no-flood': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    kinds: { type: 'string' },
    trace: { type: 'boolean', default: false },
  },
})
const runs = Number(opts.runs ?? (opts.short ? 1000 : 10_000))
const concurrency = Number(opts.concurrency)
const floodBytes = Number(opts['flood-bytes'] ?? (opts.short ? 100_000_000 : 1_000_000_000))
const log = (msg: string): void => {
  if (!opts.json) process.stderr.write(`${msg}\n`)
}

const flood = compileC('flood')
const scratch = mkdtempSync(path.join(tmpdir(), 'sandproc-soak-'))
const noExec = path.join(scratch, 'no-exec')
writeFileSync(noExec, 'data\n', { mode: 0o644 })
const badFormat = path.join(scratch, 'bad-format')
writeFileSync(badFormat, 'not a program\n', { mode: 0o755 })
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }))
const initial = snapshot(0)
// The exited-process table is full (at its bound) by the first checkpoint, so that both
// checkpoints hold the same retained state.
const sup = new Supervisor({ maxExited: 100 })
const only = opts.kinds?.split(',').map((k) => k.trim().toLowerCase())
const table = kinds({
  flood,
  cgroup: sup.capabilities.cgroup !== null,
  root: process.getuid?.() === 0,
  noExec,
  badFormat,
}).filter((k) => only === undefined || only.some((o) => k.name.toLowerCase().includes(o)))
if (table.length === 0) throw new Error(`no kind matches --kinds ${opts.kinds ?? ''}`)
const wrong: Array<{ run: number; kind: string; got: Outcome; want: Outcome }> = []
const perKind = new Map<string, number>()

async function one(i: number): Promise<void> {
  const kind = table[i % table.length]
  if (opts.trace) process.stderr.write(`start ${i} ${kind.name}\n`)
  const got = await kind.run(sup, i)
  if (opts.trace) process.stderr.write(`end ${i} ${kind.name}\n`)
  const want = kind.expect(i)
  perKind.set(kind.name, (perKind.get(kind.name) ?? 0) + 1)
  if (!isDeepStrictEqual(got, want)) wrong.push({ run: i, kind: kind.name, got, want })
}

/** Runs [from, to) with `concurrency` in flight; resolves when all have ended. */
async function batch(from: number, to: number): Promise<void> {
  let next = from
  const worker = async (): Promise<void> => {
    while (next < to) await one(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, to - from) }, worker))
}

const started = Date.now()
log(`soak: ${runs} runs, ${concurrency} at a time, ${table.length} kinds; cgroup: ${sup.capabilities.cgroup ?? 'none'}`)
await batch(0, Math.min(100, runs))
const first = await settledSnapshot(Math.min(100, runs))
const half = Math.max(100, Math.floor(runs / 2))
let mid = first
for (let from = 100; from < runs;) {
  const to = Math.min(from + 1000, runs, from < half ? half : runs)
  await batch(from, to)
  from = to
  if (to === half) mid = await settledSnapshot(half)
  const m = process.memoryUsage()
  log(
    `  ${to} runs, ${wrong.length} wrong, rss ${(m.rss / MiB).toFixed(1)} MiB, heap ${(m.heapUsed / MiB).toFixed(1)} MiB, external ${(m.external / MiB).toFixed(1)} MiB`,
  )
}
const last = await settledSnapshot(runs)
const runSeconds = (Date.now() - started) / 1000

let floods: { library: FloodResult; server: FloodResult & { status: number } } | null = null
if (!opts['no-flood']) {
  log(`flood: ${floodBytes / 1e6} MB through the library`)
  const library = await libraryFlood(sup, flood, floodBytes, Math.max(floodBytes / 10, 1_000_000))
  log(`flood: ${floodBytes / 1e6} MB through POST /api/v1/processes/run`)
  const server = await serverFlood(sup, flood, floodBytes, Math.max(floodBytes / 10, 1_000_000))
  floods = { library, server }
}
await sup.close()
const closed = await settledSnapshot(runs)

const failures: string[] = []
if (wrong.length > 0) failures.push(`${wrong.length} runs ended wrongly`)
for (const key of ['fds', 'children', 'zombies', 'cgroupDirs'] as const) {
  if (last[key] !== first[key])
    failures.push(`${key}: ${first[key]} after ${first.runs} runs, ${last[key]} after ${last.runs}`)
}
if (last.zombies !== 0) failures.push(`${last.zombies} zombies after ${last.runs} runs`)
// Children that were there before the supervisor (tsx's esbuild service) are not ours.
if (closed.children !== initial.children || closed.zombies !== 0)
  failures.push(`after close(): ${closed.children - initial.children} children left, ${closed.zombies} zombies`)
if (last.heapUsedBytes - first.heapUsedBytes > HEAP_TOLERANCE)
  failures.push(`heap grew by ${((last.heapUsedBytes - first.heapUsedBytes) / MiB).toFixed(1)} MiB`)
if (last.rssBytes - mid.rssBytes > RSS_SLOPE_TOLERANCE(opts.short))
  failures.push(`rss grew by ${((last.rssBytes - mid.rssBytes) / MiB).toFixed(1)} MiB over the second half`)
for (const [name, f] of Object.entries(floods ?? {})) {
  if (f.lines !== f.expectedLines || !f.inOrder)
    failures.push(`${name} flood: ${f.lines} of ${f.expectedLines} lines, in order: ${f.inOrder}`)
  if (f.peakGrowthBytes > FLOOD_RSS_BOUND)
    failures.push(`${name} flood: peak rss grew by ${(f.peakGrowthBytes / MiB).toFixed(1)} MiB`)
  if (!isDeepStrictEqual((f.exit as { exit_code?: number } | null)?.exit_code, 0))
    failures.push(`${name} flood: exit ${JSON.stringify(f.exit)}`)
}
if (closed.cgroupDirs !== 0) failures.push(`${closed.cgroupDirs} cgroup directories left after close()`)

const report = {
  runs,
  concurrency,
  runSeconds,
  cgroup: sup.capabilities.cgroup,
  perKind: Object.fromEntries(perKind),
  wrong: wrong.slice(0, 20),
  initial,
  first,
  mid,
  last,
  afterClose: closed,
  tolerance: {
    heapBytes: HEAP_TOLERANCE,
    rssSecondHalfBytes: RSS_SLOPE_TOLERANCE(opts.short),
    floodPeakGrowthBytes: FLOOD_RSS_BOUND,
  },
  floods,
  failures,
}
if (opts.json) {
  process.stdout.write(JSON.stringify(report) + '\n')
} else {
  const row = (s: Snapshot): string =>
    `${String(s.runs).padStart(6)} runs: fds ${s.fds}, children ${s.children}, zombies ${s.zombies}, cgroup dirs ${s.cgroupDirs}, rss ${(s.rssBytes / MiB).toFixed(1)} MiB, heap ${(s.heapUsedBytes / MiB).toFixed(1)} MiB`
  log(row(first))
  log(row(mid))
  log(row(last))
  log(`after close: ${row(closed)}`)
  for (const [name, f] of Object.entries(floods ?? {})) {
    log(
      `${name} flood: ${f.lines}/${f.expectedLines} lines, in order ${f.inOrder}, ${f.stalls} stalls, peak rss +${(f.peakGrowthBytes / MiB).toFixed(1)} MiB over ${(f.rssBeforeBytes / MiB).toFixed(1)} MiB`,
    )
  }
  log(`${runSeconds.toFixed(1)} s for the runs; ${failures.length === 0 ? 'PASS' : `FAIL: ${failures.join('; ')}`}`)
}
process.exitCode = failures.length === 0 ? 0 : 1
