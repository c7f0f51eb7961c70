/**
 * The clients of the live-upgrade tests against `sandproc serve` (test/helpers/served.ts):
 * a `run` stream read with Node's `http` on a known connection, a request on that
 * connection afterwards, a PTY client, and the SIGUSR2 with the line that says how it went.
 */
import http from 'node:http'
import { createParser } from 'eventsource-parser'
import { READY_FRAME } from '../../src/pty/wire.js'
import { PtyClient, type Created } from './pty.js'
import { TOKEN, type Served } from './served.js'

export interface Streamed {
  frames: Array<Record<string, unknown>>
  /** The body ended as HTTP says it should (the last chunk), not by a cut connection. */
  complete: boolean
  socket: import('node:net').Socket
}

/** POST /processes/run on `agent` (Node's `http`, so the connection is known), calling `onFrame` with each data frame as it comes. */
export function runStream(
  s: Pick<Served, 'url'>,
  agent: http.Agent,
  body: object,
  onFrame: (f: Record<string, unknown>, res: http.IncomingMessage) => void = () => undefined,
): { done: Promise<Streamed> } {
  const frames: Array<Record<string, unknown>> = []
  const done = new Promise<Streamed>((resolve, reject) => {
    const req = http.request(
      `${s.url}/api/v1/processes/run`,
      { method: 'POST', agent, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } },
      (res) => {
        const parser = createParser({
          onEvent: (ev) => {
            const f = JSON.parse(ev.data) as Record<string, unknown>
            frames.push(f)
            onFrame(f, res)
          },
        })
        res.setEncoding('utf8')
        res.on('data', (d: string) => parser.feed(d))
        res.on('end', () => resolve({ frames, complete: res.complete, socket: req.socket! }))
        res.on('error', reject)
        res.on('aborted', () => resolve({ frames, complete: false, socket: req.socket! }))
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
  return { done }
}

/** GET under /api/v1 on `agent`: the status, and whether an open connection was used again. */
export function getOn(s: Served, agent: http.Agent, p: string): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${s.url}/api/v1${p}`, { agent, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }))
    })
    req.on('error', reject)
  })
}

export function wsUrl(s: Served, created: Created): string {
  return `${s.url.replace(/^http/, 'ws')}/api/v1/pty/${created.session_id}/ws?token=${created.token}`
}

/** A ready client. */
export async function attach(s: Served, created: Created): Promise<PtyClient> {
  const c = new PtyClient(wsUrl(s, created))
  await c.opened
  c.send(READY_FRAME)
  return c
}

/** Sends the SIGUSR2 and resolves with the line that says how it went. */
export function upgrade(s: Served): Promise<string> {
  const outcome = s.line(/upgraded in place|handover failed/)
  s.child.kill('SIGUSR2')
  return outcome
}

/** How `client` was closed; rejects with the server's line when the upgrade ended first (it failed). */
export function closedBy(client: PtyClient, outcome: Promise<string>): Promise<{ code: number; reason: string }> {
  return Promise.race([
    client.closed,
    outcome.then((line) => Promise.reject(new Error(`the upgrade ended before the close: ${line}`))),
  ])
}
