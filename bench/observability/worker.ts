/**
 * A supervisor in a process of its own with one monitoring set-up, for the `obs`
 * workload (bench/observability/workload.ts): `tsx bench/observability/worker.ts MODE`, MODE one of
 *   plain    no observer, no SDK (the library as embedders get it)
 *   metrics  the server's Prometheus observer
 *   traced   metrics, and the OpenTelemetry SDK exporting each process span over OTLP/HTTP
 *            (the protocol of OTEL_EXPORTER_OTLP_PROTOCOL: the bench runs it with protobuf
 *            and, as `traced_json`, with json)
 *   audited  traced, and the audit log (two lines a spawn, to a file in /tmp)
 * Same protocol as spawn/own-worker.ts: {"op":"run","cmd":"/bin/true","args":[]} -> {"ms":1.2}; and
 * {"op":"cpu"} -> {"runs":N,"cpuUs":U}: the process's CPU time (all threads) spent inside
 * those runs, which the machine's load does not inflate as it does wall time.
 */
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { trace } from '@opentelemetry/api'

import { startTracing } from '../../src/cli/tracing.js'
import { Supervisor } from '../../src/index.js'
import { auditObserver } from '../../src/server/monitor/audit-events.js'
import { AuditLog } from '../../src/server/monitor/audit-log.js'
import { ServerMetrics } from '../../src/server/monitor/metrics.js'
import { serveRequests } from '../lib/worker-loop.js'

const mode = process.argv[2]
if (!['plain', 'metrics', 'traced', 'traced_json', 'audited'].includes(mode))
  throw new TypeError(`obs-worker: unknown mode ${mode}`)
const traced = mode === 'traced' || mode === 'traced_json' || mode === 'audited'

const tracing = traced ? await startTracing(process.env) : null
if (traced && tracing === null) throw new Error('obs-worker: OTEL_EXPORTER_OTLP_ENDPOINT is not set')
// One export before any timing: the exporter loads its transport and encoder lazily, at
// its first export (under tsx every such require goes through the loader's hooks thread).
if (tracing !== null) {
  trace.getTracer('obs-worker').startSpan('warm-up').end()
  await tracing.flush()
}
const sup = new Supervisor({})
if (mode !== 'plain') sup.observe(new ServerMetrics({ running: () => sup.running, ptySessions: () => 0 }).observer)
const auditPath = path.join(tmpdir(), `sandproc-bench-audit-${process.pid}.log`)
const audit = mode === 'audited' ? new AuditLog(auditPath) : null
if (audit !== null) sup.observe(auditObserver(audit, sup.cwd))

let runs = 0
let cpuUs = 0

async function run(cmd: string, args: string[]): Promise<{ ms: number }> {
  const cpu = process.cpuUsage()
  const t = performance.now()
  const ev = await sup.run({ command: cmd, args }).exited
  const ms = performance.now() - t
  const used = process.cpuUsage(cpu)
  runs++
  cpuUs += used.user + used.system
  if (ev.exit_code !== 0) throw new Error(`${cmd} ended with ${ev.exit_code ?? `signal ${ev.signal}`}`)
  return { ms }
}

await serveRequests({ cpu: () => ({ runs, cpuUs }), run: (req) => run(req.cmd, req.args ?? []) })
await sup.close()
await tracing?.shutdown()
audit?.close()
rmSync(auditPath, { force: true })
