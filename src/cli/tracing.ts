/**
 * `sandproc serve`'s OpenTelemetry set-up (docs/monitoring.md). The SDK is imported only
 * when the standard OTLP variables ask for export, so a server without them loads none
 * of it. The exporters read the endpoint, headers and timeout from the same variables.
 */
import { context } from '@opentelemetry/api'
import { UsageError } from './args.js'

/** The protocols of the OTLP/HTTP exporters; gRPC is not bundled. */
const PROTOCOLS = ['http/protobuf', 'http/json'] as const

/** The registered SDK: `flush()` exports what is buffered, `shutdown()` flushes and stops. */
export interface Tracing {
  flush(): Promise<void>
  shutdown(): Promise<void>
}

/**
 * Registers a tracer provider exporting over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT`
 * or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (the exporter itself reads the endpoint,
 * headers and timeout from `process.env`); null when export is off. A failed export is
 * reported to `onError`, never thrown.
 *
 * @throws UsageError for a protocol other than `http/protobuf` or `http/json`.
 */
export async function startTracing(
  env: NodeJS.ProcessEnv,
  onError: (err: unknown) => void = (err) => console.error('sandproc: trace export failed:', err),
): Promise<Tracing | null> {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT
  if (!endpoint || env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return null
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf'
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new UsageError(`OTEL_EXPORTER_OTLP_PROTOCOL must be ${PROTOCOLS.join(' or ')}, not ${protocol}`)
  }
  const [sdk, resources, exporter, { setGlobalErrorHandler }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
    protocol === 'http/json'
      ? import('@opentelemetry/exporter-trace-otlp-http')
      : import('@opentelemetry/exporter-trace-otlp-proto'),
    import('@opentelemetry/core'),
  ])
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': 'sandproc' }))
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the defaults.
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
  const provider = new sdk.NodeTracerProvider({
    resource,
    spanProcessors: [new sdk.BatchSpanProcessor(new exporter.OTLPTraceExporter())],
  })
  // Also registers the async-context manager that carries a request's span to its processes.
  provider.register()
  // Without it the SDK's own error handler reports export failures to a silent diag logger.
  setGlobalErrorHandler(onError)
  return {
    flush: () => provider.forceFlush().catch(onError),
    shutdown: () => provider.shutdown().catch(onError),
  }
}

/**
 * Carries each request's context across its awaits when no SDK does, so that the audit
 * log gets the trace id of a request's `traceparent` without any export.
 */
export async function carryRequestContext(): Promise<void> {
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks')
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
}
