/**
 * The library's process spans with an SDK of the embedder's own: the core only uses
 * `@opentelemetry/api`, so whatever provider is registered gets them.
 */
import { context, SpanStatusCode, trace } from '@opentelemetry/api'
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node'
import { describe, expect, it } from 'vitest'

import type { Supervisor } from '../../src/supervisor.js'
import { useSupervisor } from '../helpers/fixture.js'

const exporter = new InMemorySpanExporter()
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register()

let sup: Supervisor
useSupervisor((s) => (sup = s))

const HOG = 'b = []\nfor i in range(1024):\n    b.append(bytearray(1 << 20))\nraise SystemExit(42)'

function spanOf(handle: number) {
  const span = exporter.getFinishedSpans().find((s) => s.attributes['sandproc.handle'] === handle)
  if (span === undefined) throw new Error(`no span for handle ${handle}`)
  return span
}

describe('process spans of the library', () => {
  it('is a child of the active span, from the request to the exit, with pid, reason, code and usage', async () => {
    const parent = trace.getTracer('test').startSpan('request')
    const proc = context.with(trace.setSpan(context.active(), parent), () =>
      sup.run({ command: 'sh', args: ['-c', 'exit 3'] }),
    )
    const { pid } = await proc.started
    const exit = await proc.exited
    parent.end()
    const span = spanOf(proc.handle)
    expect(span.name).toBe('process sh')
    expect(span.spanContext().traceId).toBe(parent.spanContext().traceId)
    expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId)
    expect(span.attributes).toMatchObject({
      'process.pid': pid,
      'process.executable.name': 'sh',
      'process.exit.code': 3,
      'sandproc.reason': 'exited',
      'sandproc.usage.wall_ms': exit.usage!.wall_ms,
      'sandproc.usage.user_cpu_ms': exit.usage!.user_cpu_ms,
      'sandproc.usage.system_cpu_ms': exit.usage!.system_cpu_ms,
    })
    expect(span.attributes['sandproc.signal']).toBeUndefined()
    expect(span.status.code).toBe(SpanStatusCode.UNSET)
  })

  it('names an OOM kill and a timeout as the reason, with the signal', async () => {
    const hog = sup.run({ command: 'python3', args: ['-c', HOG], memory_limit: '64M' })
    const late = sup.run({ command: 'sleep', args: ['30'], timeout: 0.1 })
    expect(await hog.exited).toMatchObject({ signal: 9, oom_killed: true })
    expect(await late.exited).toMatchObject({ signal: 9, timed_out: true })
    expect(spanOf(hog.handle).attributes).toMatchObject({
      'sandproc.reason': 'oom_killed',
      'sandproc.signal': 9,
      'sandproc.oom_kills': 1,
    })
    expect(spanOf(hog.handle).attributes['sandproc.usage.memory_peak_bytes']).toBeGreaterThan(32 << 20)
    expect(spanOf(late.handle).attributes).toMatchObject({ 'sandproc.reason': 'timed_out', 'sandproc.signal': 9 })
    expect(spanOf(late.handle).attributes['process.exit.code']).toBeUndefined()
  })

  it('ends the span of a spawn failure with an error status and the error code', async () => {
    const proc = sup.run({ command: '/nonexistent/program' })
    await expect(proc.started).rejects.toMatchObject({ code: 'ENOENT' })
    const span = spanOf(proc.handle)
    expect(span.status.code).toBe(SpanStatusCode.ERROR)
    expect(span.attributes).toMatchObject({ 'sandproc.reason': 'spawn_failed', 'error.type': 'ENOENT' })
    expect(span.events.map((e) => e.name)).toContain('exception')
  })
})
