/**
 * A server span per request that continues the client's W3C `traceparent` (the
 * Tensorlake SDKs send one). The header is parsed here rather than by a registered
 * propagator, so the trace id reaches the audit log even when no SDK is loaded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { context, createTraceState, ROOT_CONTEXT, SpanKind, trace, type Context, type Span } from '@opentelemetry/api'

const tracer = trace.getTracer('sandproc')

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/

/** The remote parent a request names, or the root context. */
export function parentOf(req: IncomingMessage): Context {
  const header = req.headers.traceparent
  if (typeof header !== 'string') return ROOT_CONTEXT
  const m = TRACEPARENT.exec(header.trim())
  // Version ff is invalid; version 00 has exactly four fields.
  if (m === null || m[1] === 'ff' || (m[1] === '00' && m[5] !== undefined)) return ROOT_CONTEXT
  const spanContext = { traceId: m[2], spanId: m[3], traceFlags: parseInt(m[4], 16) & 1, isRemote: true }
  if (!trace.isSpanContextValid(spanContext)) return ROOT_CONTEXT
  const state = req.headers.tracestate
  const traceState = typeof state === 'string' && state !== '' ? createTraceState(state) : undefined
  return trace.setSpanContext(ROOT_CONTEXT, { ...spanContext, traceState })
}

/**
 * Runs `handle` inside the request's server span; the span ends when the response
 * closes, named by `route()` (a route pattern, never the raw path).
 */
export function withRequestSpan<T>(req: IncomingMessage, res: ServerResponse, route: () => string, handle: () => T): T {
  const parent = parentOf(req)
  const method = req.method ?? 'GET'
  const span: Span = tracer.startSpan(
    method,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } },
    parent,
  )
  if (span.isRecording()) {
    res.once('close', () => {
      const pattern = route()
      span.updateName(`${method} ${pattern}`)
      span.setAttributes({ 'http.route': pattern, 'http.response.status_code': res.statusCode })
      span.end()
    })
  }
  return context.with(trace.setSpan(parent, span), handle)
}
