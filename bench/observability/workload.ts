/**
 * The `obs` workload: what metrics and tracing cost a spawn. W1's `/bin/true` start→exit
 * in five processes of their own (bench/observability/worker.ts), interleaved: no monitoring, the
 * server's metrics observer, metrics plus the OpenTelemetry SDK exporting every process
 * span over OTLP/HTTP to a receiver in this process (protobuf, and json), and the
 * protobuf one plus the audit log. Each set-up has a process of its own because a registered SDK is process-wide.
 *
 * Standalone: `tsx bench/observability/workload.ts [--quick]` prints one JSON line; `npm run bench
 * -- --only obs` adds its figures to the notes.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { parseArgs } from 'node:util'

import { BENCH_DIR } from '../lib/build.js'
import { interleave, summarize } from '../lib/stats.js'
import { WorkerPeer } from '../lib/worker-peer.js'

const SPAN_NAME = 'process true'
const MODES = ['plain', 'metrics', 'traced', 'traced_json', 'audited'] as const
type Mode = (typeof MODES)[number]

export interface ObsCosts {
  /** Median and p90 ms of /bin/true start→exit per set-up. */
  spawn: Record<Mode, { median: number; p90: number; n: number }>
  /** Median over the plain median, minus 1, in percent. */
  overheadPct: Record<Exclude<Mode, 'plain'>, number>
  /** The worker's CPU time (all its threads) per spawn, µs: warm-up and timed runs. */
  cpuUsPerSpawn: Record<Mode, number>
  /** Export requests the receiver got from the traced set-ups, and the process spans in them. */
  exports: number
  spans: number
}

export async function obsCost(opts: { quick: boolean }): Promise<{ costs: ObsCosts; notes: string[] }> {
  let exports = 0
  let bytes = 0
  let spans = 0
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      exports++
      bytes += body.length
      // Each process span carries its name once.
      for (let i = body.indexOf(SPAN_NAME); i >= 0; i = body.indexOf(SPAN_NAME, i + 1)) spans++
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const env = {
    ...process.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
  }
  const workers = MODES.map((m) => {
    const protocol = m === 'traced_json' ? 'http/json' : 'http/protobuf'
    return new WorkerPeer(
      m,
      process.version,
      process.execPath,
      ['--import', 'tsx', path.join(BENCH_DIR, 'observability/worker.ts'), m],
      { ...env, OTEL_EXPORTER_OTLP_PROTOCOL: protocol },
    )
  })
  try {
    const contenders = workers.map((w) => ({
      name: w.name as Mode,
      op: async () => void (await w.run('/bin/true')),
      timed: () => w.run('/bin/true'),
    }))
    const samples = await interleave(contenders, {
      warmup: 30,
      rounds: opts.quick ? 150 : 1000,
      budgetMs: opts.quick ? 5_000 : 40_000,
      minRounds: 50,
    })
    const spawn = {} as ObsCosts['spawn']
    for (const m of MODES) {
      const s = summarize(samples[m])
      spawn[m] = { median: +s.median.toFixed(3), p90: +s.p90.toFixed(3), n: s.n }
    }
    const pct = (m: Mode): number => +((spawn[m].median / spawn.plain.median - 1) * 100).toFixed(1)
    const overheadPct = {
      metrics: pct('metrics'),
      traced: pct('traced'),
      traced_json: pct('traced_json'),
      audited: pct('audited'),
    }
    const cpuUsPerSpawn = {} as ObsCosts['cpuUsPerSpawn']
    for (const w of workers) {
      const c = await w.ask<{ runs: number; cpuUs: number }>('cpu')
      cpuUsPerSpawn[w.name as Mode] = Math.round(c.cpuUs / c.runs)
    }
    // The SDKs flush their last batch on shutdown.
    await Promise.all(workers.map((w) => w.close()))
    const costs: ObsCosts = { spawn, overheadPct, cpuUsPerSpawn, exports, spans }
    const line =
      'Observability: /bin/true start→exit, median (p90) ms: ' +
      MODES.map((m) => `${m} ${spawn[m].median} (${spawn[m].p90})`).join(', ') +
      `; over plain: metrics ${overheadPct.metrics}%, metrics+tracing (protobuf) ${overheadPct.traced}%, (json) ${overheadPct.traced_json}%, protobuf+audit log ${overheadPct.audited}%` +
      `; CPU µs per spawn: ${MODES.map((m) => `${m} ${cpuUsPerSpawn[m]}`).join(', ')}` +
      ` (${spans} process spans in ${exports} OTLP exports, ${bytes} bytes)`
    return { costs, notes: [line] }
  } finally {
    await Promise.all(workers.map((w) => w.close().catch(() => undefined)))
    receiver.closeAllConnections()
    await new Promise((resolve) => receiver.close(resolve))
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } })
  const { costs, notes } = await obsCost({ quick: values.quick === true })
  process.stderr.write(notes.join('\n') + '\n')
  process.stdout.write(JSON.stringify(costs) + '\n')
}
