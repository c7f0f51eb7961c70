import path from 'node:path'
import { describe, expect, it } from 'vitest'

import { parseServeArgs, UsageError } from '../../src/cli/args.js'
import { startTracing } from '../../src/cli/tracing.js'
import { serveChild } from './serve.js'

describe('the monitoring options of sandproc serve', () => {
  it('takes the audit log from --audit-log or SANDPROC_AUDIT_LOG, the flag first', () => {
    expect(parseServeArgs([], {})).toMatchObject({ auditLog: undefined })
    expect(parseServeArgs([], { SANDPROC_AUDIT_LOG: '/var/log/a.log' })).toMatchObject({ auditLog: '/var/log/a.log' })
    expect(parseServeArgs(['--audit-log', '/tmp/b.log'], { SANDPROC_AUDIT_LOG: '/var/log/a.log' })).toMatchObject({
      auditLog: '/tmp/b.log',
    })
  })

  it('exports traces only when an OTLP endpoint is set, over http/protobuf or http/json only', async () => {
    expect(await startTracing({})).toBeNull()
    expect(await startTracing({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBeNull()
    expect(
      await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBeNull()
    expect(
      await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' }),
    ).toBeNull()
    await expect(
      startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    ).rejects.toBeInstanceOf(UsageError)
  })

  it('exits 1 with the reason when the audit log cannot be opened', async () => {
    const missing = path.join('/nonexistent-dir', 'audit.log')
    await expect(serveChild(['--audit-log', missing])).rejects.toThrow(/cannot open the audit log: ENOENT/)
  })
})
