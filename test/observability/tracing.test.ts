import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { rmTemp, tempDir } from '../helpers/system.js'

import { readSse } from '../helpers/server.js'
import { PARENT_SPAN_ID, TRACE_ID, TRACEPARENT } from './mix.js'
import { jsonSpans, OtlpReceiver, type JsonSpan } from './otlp-receiver.js'
import { serveChild } from './serve.js'

const SERVER = 2

/** `node --import` this to have the child list the OpenTelemetry SDK modules it resolves. */
const RECORD_LOADS = ['--import', fileURLToPath(new URL('../fixtures/observability/record-loads.mjs', import.meta.url))]

let receiver: OtlpReceiver
let dir: string

beforeAll(async () => {
  receiver = await OtlpReceiver.start()
  dir = tempDir()
})

afterAll(async () => {
  await receiver.close()
  rmTemp(dir)
})

function sdkLoads(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
}

/** The environment that turns export on, with a short batch delay so spans come at once. */
function otel(protocol: string): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_BSP_SCHEDULE_DELAY: '20',
  }
}

describe('OTLP/HTTP export of sandproc serve', () => {
  it('loads no SDK module and exports nothing without the OTEL_* variables', async () => {
    const loads = path.join(dir, 'loads-off.txt')
    const seen = receiver.exports.length
    const off = {
      OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
      OTEL_LOADS_FILE: loads,
    }
    const serve = await serveChild([], off, RECORD_LOADS)
    try {
      const res = await serve.api('/processes/run', {
        method: 'POST',
        body: { command: 'true' },
        headers: { traceparent: TRACEPARENT },
      })
      expect((await readSse(res)).raw).toContain('"exit_code":0')
    } finally {
      expect(await serve.stop()).toBe(0)
    }
    expect(sdkLoads(loads)).toBe('')
    expect(receiver.exports.length).toBe(seen)
  })

  it('http/json: a run sent with a traceparent gives a server span and a process span in that trace', async () => {
    const loads = path.join(dir, 'loads-json.txt')
    const serve = await serveChild([], { ...otel('http/json'), OTEL_LOADS_FILE: loads }, RECORD_LOADS)
    try {
      const res = await serve.api('/processes/run', {
        method: 'POST',
        body: { command: 'sh', args: ['-c', 'exit 3'] },
        headers: { traceparent: TRACEPARENT },
      })
      expect(res.status).toBe(200)
      await readSse(res)
      const inTrace = (): JsonSpan[] => jsonSpans(receiver.exports).filter((s) => s.traceId === TRACE_ID)
      await receiver.until(() => inTrace().length >= 2)

      const server = inTrace().find((s) => s.kind === SERVER)!
      expect(server).toMatchObject({
        parentSpanId: PARENT_SPAN_ID,
        name: 'POST /api/v1/processes/run',
        attributes: {
          'http.route': '/api/v1/processes/run',
          'http.response.status_code': 200,
          'http.request.method': 'POST',
        },
      })
      const proc = inTrace().find((s) => s.name === 'process sh')!
      expect(proc.parentSpanId).toBe(server.spanId)
      expect(proc.attributes).toMatchObject({
        'process.executable.name': 'sh',
        'process.pid': expect.any(Number),
        'process.exit.code': 3,
        'sandproc.reason': 'exited',
        'sandproc.usage.wall_ms': expect.any(Number),
        'sandproc.usage.user_cpu_ms': expect.any(Number),
        'sandproc.usage.system_cpu_ms': expect.any(Number),
      })
      expect(proc.attributes['process.pid']).toBeGreaterThan(0)
      expect(receiver.exports.every((e) => e.path === '/v1/traces')).toBe(true)
    } finally {
      expect(await serve.stop()).toBe(0)
    }
    expect(sdkLoads(loads)).toMatch(/sdk-trace-node/)
    expect(sdkLoads(loads)).toMatch(/exporter-trace-otlp-http/)
    expect(sdkLoads(loads)).not.toMatch(/exporter-trace-otlp-proto/)
  })

  it('http/protobuf: the spans of a run are posted as protobuf, carrying the trace id', async () => {
    const seen = receiver.exports.length
    const serve = await serveChild([], otel('http/protobuf'))
    try {
      const res = await serve.api('/processes/run', {
        method: 'POST',
        body: { command: 'true' },
        headers: { traceparent: TRACEPARENT },
      })
      await readSse(res)
      const traceBytes = Buffer.from(TRACE_ID, 'hex')
      const proto = (): boolean =>
        receiver.exports
          .slice(seen)
          .some(
            (e) =>
              e.contentType === 'application/x-protobuf' &&
              e.body.includes(traceBytes) &&
              e.body.includes('process true'),
          )
      await receiver.until(proto)
      expect(receiver.exports.slice(seen).every((e) => e.path === '/v1/traces')).toBe(true)
    } finally {
      expect(await serve.stop()).toBe(0)
    }
  })

  it('keeps serving when the collector cannot be reached, and says so on stderr', async () => {
    const gone = await OtlpReceiver.start()
    const url = gone.url
    await gone.close()
    const serve = await serveChild([], {
      OTEL_EXPORTER_OTLP_ENDPOINT: url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '20',
      OTEL_EXPORTER_OTLP_TIMEOUT: '500',
    })
    let status: number | null
    try {
      const res = await serve.api('/processes/run', { method: 'POST', body: { command: 'true' } })
      expect((await readSse(res)).raw).toContain('"exit_code":0')
    } finally {
      status = await serve.stop()
    }
    expect(status).toBe(0)
    expect(serve.stderr()).toMatch(/trace export failed/)
  })
})
