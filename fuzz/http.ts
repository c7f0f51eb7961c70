/**
 * The fuzzing pass (docs/hardening.md): properties over the HTTP routes (methods, paths,
 * headers, bodies), the PTY frame decoder, `Last-Event-ID` and path/query parsing, each
 * input checked for "no crash, a JSON 4xx or a valid answer, the server still serves".
 * `test/hardening/fuzz.test.ts` runs them briefly with fixed seeds; `npm run fuzz`
 * (fuzz/main.ts) runs them for minutes.
 */
import net from 'node:net'
import fc from 'fast-check'

import { parseFrame } from '../src/server/pty-frames.js'
import { matchRoute, pathOf } from '../src/server/router.js'
import { HttpError } from '../src/server/errors.js'
import { lastEventId } from '../src/server/sse-routes.js'

/** A live server to fuzz: its address, its token, and the internal errors it reported. */
export interface FuzzTarget {
  url: string
  token: string
  /** What the server's `onError` received: any entry is a finding. */
  errors: unknown[]
}

export interface FuzzRequest {
  method: string
  target: string
  headers: Array<[string, string]>
  body: Buffer
}

const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'PRI', 'get', 'FOO']
const SEGMENTS = [
  'api', 'v1', 'processes', 'run', 'health', 'info', 'pty', 'ws', 'stdin', 'close', 'stdout', 'stderr', 'output',
  'follow', 'signal', 'restart', 'resize', 'metrics', '1', '0', '4294967296', '99999999999999999999', '.', '..',
  '%ZZ', '%', '%00', '%2F', '%2e%2e', '%E0%A4%A', 'web', '', 'index.html', 'app.js',
]
const HEADER_NAMES = [
  'Content-Type', 'Upgrade', 'Connection', 'Last-Event-ID', 'X-PTY-Token', 'Transfer-Encoding', 'Accept',
  'Idempotency-Key', 'traceparent', 'Expect', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version', 'Origin', 'Cookie',
]
const COMMANDS = ['true', 'echo', 'cat', 'sh', '/bin/false', 'no-such-program', '', '.', '/']

/** A header value: visible ASCII and spaces (a CR or LF would make it another request). */
const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.constantFrom('websocket', 'h2c', 'Upgrade', 'close', 'keep-alive', 'chunked', '100-continue', '-1', '0', '18446744073709551616', 'application/json'),
)

const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SEGMENTS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9%._~!$&'()*+,;=:@-]{0,12}$/) },
)

const query = fc.oneof(
  fc.constant(''),
  fc.stringMatching(/^\?[A-Za-z0-9%=&._~+-]{0,30}$/),
  fc.constantFrom('?token=', '?token=%ZZ', '?token=a&token=b', '?=', '?&&', '?%'),
)

const target = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.array(segment, { maxLength: 7 }), query).map(([segs, q]) => `/${segs.join('/')}${q}`) },
  { weight: 1, arbitrary: fc.constantFrom('//', '*', '/', 'http://x/api/v1/health', '///api//v1', '/api/v1/pty/%ZZ/ws', '/?', '/#') },
)

/** JSON bodies built from the request fields of the API, with wrong types mixed in. */
const jsonValue = fc.oneof(
  fc.constantFrom(...COMMANDS),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxKeys: 3 }),
  fc.string({ maxLength: 20 }),
)
const FIELDS = [
  'command', 'args', 'env', 'working_dir', 'user', 'timeout', 'stdin_mode', 'stdout_mode', 'stderr_mode', 'name',
  'restart', 'health_check', 'signal', 'rows', 'cols', 'memory_limit', 'idle_timeout', 'output_encoding',
]
const jsonBody = fc
  .dictionary(fc.constantFrom(...FIELDS), jsonValue, { maxKeys: 6 })
  .map((o) => {
    // Mostly programs that end at once, so that the fuzzing does not pile up processes.
    if (typeof o.command !== 'string') return o
    const { timeout: _t, ...rest } = o
    return { ...rest, timeout: 2 }
  })

const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 4, arbitrary: jsonBody.map((o) => Buffer.from(JSON.stringify(o))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 50 }).map((s) => Buffer.from(s)) },
)

/** An arbitrary request: mostly shaped like the API's, with hostile parts mixed in. */
export function requestArbitrary(): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    method: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...METHODS) }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,8}$/) }),
    target,
    headers: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...HEADER_NAMES), fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/)), headerValue), { maxLength: 5 }),
    body,
  })
}

/** What came back for one request. */
interface Answer {
  status: number
  contentType: string
  body: string
}

/**
 * Sends one request on its own connection and reads the answer: to the end, or only its
 * head for an event stream (the stream itself is tested elsewhere; leaving ends it).
 */
export function send(t: FuzzTarget, req: FuzzRequest, auth: boolean): Promise<Answer | null> {
  const { hostname, port } = new URL(t.url)
  const lines = [`${req.method} ${req.target} HTTP/1.1`, 'Host: 127.0.0.1']
  for (const [name, value] of req.headers) {
    if (/^(content-length|transfer-encoding|connection|host)$/i.test(name)) continue
    lines.push(`${name}: ${value}`)
  }
  if (auth) lines.push(`Authorization: Bearer ${t.token}`)
  lines.push(`Content-Length: ${req.body.length}`, 'Connection: close')
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname)
    const chunks: Buffer[] = []
    let settled = false
    const finish = (): void => {
      if (settled) return
      settled = true
      socket.destroy()
      resolve(parseAnswer(Buffer.concat(chunks).toString('latin1')))
    }
    socket.on('data', (d: Buffer) => {
      chunks.push(d)
      const text = Buffer.concat(chunks).toString('latin1')
      if (/\r\ncontent-type: text\/event-stream/i.test(text.slice(0, text.indexOf('\r\n\r\n') + 2))) finish()
    })
    socket.on('end', finish)
    socket.on('close', finish)
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // The server may close a connection it refused while the body is still going out.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') finish()
      else if (!settled) reject(err)
    })
    socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), req.body]))
  })
}

function parseAnswer(text: string): Answer | null {
  const end = text.indexOf('\r\n\r\n')
  if (end === -1) return null
  const head = text.slice(0, end)
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
  const contentType = /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1] ?? ''
  let body = text.slice(end + 4)
  if (/\r\ntransfer-encoding: chunked/i.test(head)) body = unchunk(body)
  return { status, contentType, body }
}

function unchunk(text: string): string {
  let out = ''
  let pos = 0
  for (;;) {
    const eol = text.indexOf('\r\n', pos)
    if (eol === -1) return out
    const size = parseInt(text.slice(pos, eol), 16)
    if (!(size > 0)) return out
    out += text.slice(eol + 2, eol + 2 + size)
    pos = eol + 2 + size + 2
  }
}

/**
 * Checks one answer: a response came, it is not a 5xx, an error is `{"error", "code"}`
 * JSON, a JSON answer parses. Throws with what was wrong.
 */
export function checkAnswer(req: FuzzRequest, answer: Answer | null): void {
  const what = `${req.method} ${JSON.stringify(req.target)}`
  // A HEAD answer has no body; CONNECT and PRI are not requests the server serves at all.
  if (answer === null) {
    if (req.method === 'CONNECT' || req.method === 'PRI') return
    throw new Error(`${what}: no response`)
  }
  if (answer.status < 100 || answer.status >= 500) throw new Error(`${what}: status ${answer.status} ${answer.body.slice(0, 200)}`)
  if (req.method === 'HEAD' || answer.status === 204 || answer.status === 101) return
  if (answer.status >= 400) {
    const parsed = JSON.parse(answer.body) as { error?: unknown; code?: unknown }
    if (typeof parsed.error !== 'string' || typeof parsed.code !== 'string') throw new Error(`${what}: error body ${answer.body}`)
  } else if (answer.contentType.startsWith('application/json')) {
    JSON.parse(answer.body)
  }
}

/** Throws unless `GET /api/v1/health` answers 200 `{"healthy": true}`. */
export async function checkServes(t: FuzzTarget): Promise<void> {
  const answer = await send(t, { method: 'GET', target: '/api/v1/health', headers: [], body: Buffer.alloc(0) }, true)
  if (answer?.status !== 200 || answer.body !== '{"healthy":true}') throw new Error(`the server no longer serves: ${JSON.stringify(answer)}`)
}

/** Each request, with and without the token: a valid answer, no internal error, the server still serves. */
export function httpProperty(t: FuzzTarget): fc.IAsyncPropertyWithHooks<[FuzzRequest, boolean]> {
  return fc.asyncProperty(requestArbitrary(), fc.boolean(), async (req, auth) => {
    checkAnswer(req, await send(t, req, auth))
    if (t.errors.length > 0) throw new Error(`internal error on ${req.method} ${req.target}: ${String(t.errors[0])}`)
    await checkServes(t)
  })
}

/** The PTY frame decoder: any bytes give a frame or null, and a frame is one the spec allows. */
export const frameProperty = fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
  const frame = parseFrame(Buffer.from(bytes))
  if (frame === null) return
  if (frame.op === 0x01 && !(frame.cols >= 1 && frame.cols <= 1000 && frame.rows >= 1 && frame.rows <= 500)) {
    throw new Error(`resize out of range: ${JSON.stringify(frame)}`)
  }
  if (frame.op === 0x02 && bytes.length !== 1) throw new Error('ready frame with a payload')
})

/** `Last-Event-ID`: a non-negative safe integer, undefined, or a 400; nothing else. */
export const lastEventIdProperty = fc.property(
  fc.oneof(fc.string({ maxLength: 30 }), fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), fc.constant(undefined)),
  (header) => {
    let id: number | undefined
    try {
      id = lastEventId(header as string | string[] | undefined)
    } catch (err) {
      if (err instanceof HttpError && err.status === 400) return
      throw err
    }
    if (id !== undefined && !(Number.isSafeInteger(id) && id >= 0)) throw new Error(`bad id ${id}`)
  },
)

/** Path and query parsing: any target gives a path, and routing it throws nothing but an HttpError. */
export const pathProperty = fc.property(fc.oneof(target, fc.string({ maxLength: 40 })), (url) => {
  const path = pathOf(url)
  if (path.includes('?')) throw new Error(`query left in ${path}`)
  try {
    matchRoute([{ pattern: /^\/api\/v1\/processes\/([^/]+)$/, methods: { GET: 1 } }], 'GET', path)
  } catch (err) {
    if (!(err instanceof HttpError)) throw err
  }
})
