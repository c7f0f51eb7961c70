/** A local OTLP/HTTP receiver: keeps every export request it gets, and wakes waiters on each. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Export {
  path: string
  contentType: string
  body: Buffer
}

export class OtlpReceiver {
  readonly exports: Export[] = []
  readonly #server: Server
  #waiters: Array<() => void> = []

  private constructor(server: Server) {
    this.#server = server
  }

  static async start(): Promise<OtlpReceiver> {
    const receiver: OtlpReceiver = new OtlpReceiver(
      createServer((req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => {
          receiver.exports.push({
            path: req.url ?? '',
            contentType: req.headers['content-type'] ?? '',
            body: Buffer.concat(chunks),
          })
          const json = req.headers['content-type'] === 'application/json'
          res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' })
          res.end(json ? '{}' : undefined)
          for (const wake of receiver.#waiters.splice(0)) wake()
        })
      }),
    )
    await new Promise<void>((resolve) => receiver.#server.listen(0, '127.0.0.1', resolve))
    return receiver
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  /** Resolves once `cond` holds, checked after every export received. */
  async until(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise<void>((resolve) => this.#waiters.push(resolve))
  }

  close(): Promise<void> {
    this.#server.closeAllConnections()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}

/** One span of an http/json export, with its attributes as plain values. */
export interface JsonSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes: Record<string, unknown>
}

interface AnyValue {
  stringValue?: string
  intValue?: number | string
  doubleValue?: number
  boolValue?: boolean
}

/** Every span of the http/json exports received so far. */
export function jsonSpans(exports: Export[]): JsonSpan[] {
  const out: JsonSpan[] = []
  for (const e of exports) {
    if (e.contentType !== 'application/json') continue
    const req = JSON.parse(e.body.toString('utf8')) as {
      resourceSpans: Array<{
        scopeSpans: Array<{
          spans: Array<Omit<JsonSpan, 'attributes'> & { attributes?: Array<{ key: string; value: AnyValue }> }>
        }>
      }>
    }
    for (const rs of req.resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const s of ss.spans) {
          const attributes: Record<string, unknown> = {}
          for (const a of s.attributes ?? []) {
            const v = a.value
            attributes[a.key] =
              v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? v.boolValue))
          }
          out.push({ ...s, attributes })
        }
      }
    }
  }
  return out
}
