/**
 * One OpenTelemetry span per process, from the request to the exit (docs/monitoring.md).
 * Only `@opentelemetry/api`: without a registered SDK the tracer is a no-op and a launch
 * costs one non-recording span object.
 */
import { basename } from 'node:path'
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api'

import type { CodedError } from '../errors.js'
import type { ExitEvent } from '../types.js'
import type { SupervisedProcess } from './process.js'
import { reasonOf } from './reason.js'

const tracer = trace.getTracer('sandproc')

/** Starts the span of `proc` under the active context (the request's span in the server). */
export function traceProcess(proc: SupervisedProcess, command: string): void {
  const executable = basename(command)
  const span = tracer.startSpan(`process ${executable}`, {
    kind: SpanKind.INTERNAL,
    attributes: { 'process.executable.name': executable, 'sandproc.handle': proc.handle },
  })
  if (!span.isRecording()) return
  proc.started.then((ev) => span.setAttribute('process.pid', ev.pid), noop)
  proc.exited.then(
    (ev) => {
      span.setAttributes(exitAttributes(ev))
      span.end()
    },
    (err: CodedError) => failed(span, err),
  )
}

function exitAttributes(ev: ExitEvent): Attributes {
  const attrs: Attributes = { 'sandproc.reason': reasonOf(ev) }
  if (ev.exit_code !== undefined) attrs['process.exit.code'] = ev.exit_code
  if (ev.signal !== undefined) attrs['sandproc.signal'] = ev.signal
  if (ev.oom_kills !== undefined) attrs['sandproc.oom_kills'] = ev.oom_kills
  const u = ev.usage
  if (u !== undefined) {
    attrs['sandproc.usage.wall_ms'] = u.wall_ms
    attrs['sandproc.usage.user_cpu_ms'] = u.user_cpu_ms
    attrs['sandproc.usage.system_cpu_ms'] = u.system_cpu_ms
    if (u.memory_peak_bytes !== null) attrs['sandproc.usage.memory_peak_bytes'] = u.memory_peak_bytes
  }
  return attrs
}

function failed(span: Span, err: CodedError): void {
  span.setAttribute('sandproc.reason', 'spawn_failed')
  if (typeof err.code === 'string') span.setAttribute('error.type', err.code)
  span.recordException(err)
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message })
  span.end()
}

function noop(): void {}
