/**
 * The fuzzing pass over HTTP (docs/hardening.md): each request on its own connection,
 * each answer checked for "no crash, a JSON 4xx or a valid answer, the server still
 * serves". `test/hardening/fuzz.test.ts` runs the properties briefly with fixed seeds;
 * `npm run fuzz` (fuzz/main.ts) runs them for minutes.
 */
import net from 'node:net'
import fc from 'fast-check'

import { unchunk } from '../test/helpers/raw-http.js'
import { requestArbitrary, type FuzzRequest } from './arbitraries.js'

export type { FuzzRequest }

/** A live server to fuzz: its address, its token, and the internal errors it reported. */
export interface FuzzTarget {
  url: string
  token: string
  /** What the server's `onError` received: any entry is a finding. */
  errors: unknown[]
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
  if (answer.status < 100 || answer.status >= 500)
    throw new Error(`${what}: status ${answer.status} ${answer.body.slice(0, 200)}`)
  if (req.method === 'HEAD' || answer.status === 204 || answer.status === 101) return
  if (answer.status >= 400) {
    const parsed = JSON.parse(answer.body) as { error?: unknown; code?: unknown }
    if (typeof parsed.error !== 'string' || typeof parsed.code !== 'string')
      throw new Error(`${what}: error body ${answer.body}`)
  } else if (answer.contentType.startsWith('application/json')) {
    JSON.parse(answer.body)
  }
}

/** Throws unless `GET /api/v1/health` answers 200 `{"healthy": true}`. */
export async function checkServes(t: FuzzTarget): Promise<void> {
  const answer = await send(t, { method: 'GET', target: '/api/v1/health', headers: [], body: Buffer.alloc(0) }, true)
  if (answer?.status !== 200 || answer.body !== '{"healthy":true}')
    throw new Error(`the server no longer serves: ${JSON.stringify(answer)}`)
}

/** Each request, with and without the token: a valid answer, no internal error, the server still serves. */
export function httpProperty(t: FuzzTarget): fc.IAsyncPropertyWithHooks<[FuzzRequest, boolean]> {
  return fc.asyncProperty(requestArbitrary(), fc.boolean(), async (req, auth) => {
    checkAnswer(req, await send(t, req, auth))
    if (t.errors.length > 0) throw new Error(`internal error on ${req.method} ${req.target}: ${String(t.errors[0])}`)
    await checkServes(t)
  })
}
