/**
 * The PTY WebSocket (spec §6): `GET /api/v1/pty/{id}/ws`, authenticated in the HTTP
 * server's `upgrade` event before `ws` sees the request, by the session token (header
 * `X-PTY-Token` or query `token`, equal if both are sent). The bearer token is not
 * needed: the session token is a capability handed only to an authenticated creator.
 * `Host` is not looked at (the SDK sends `<sandbox id>.local`).
 */
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'

import { MAX_PTY_FRAME } from './pty-channel.js'
import type { PtyRegistry } from './pty-sessions.js'

/** How often the server pings each client; one missed pong and it is cut. */
export const DEFAULT_PTY_PING_MS = 30_000

const registries = new WeakMap<Server, PtyRegistry>()

/** The PTY sessions of a server made by createServer (for embedding and tests). */
export function ptySessionsOf(server: Server): PtyRegistry | undefined {
  return registries.get(server)
}

/** Answers `upgrade` on `server` for the sessions of `registry`; other upgrade paths are 404. */
export function servePtySockets(server: Server, prefix: string, registry: PtyRegistry): void {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_PTY_FRAME, clientTracking: false })
  registries.set(server, registry)
  const path = new RegExp(`^${prefix}/pty/([^/?]+)/ws$`)
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    const url = new URL(req.url ?? '/', 'http://localhost')
    const match = path.exec(url.pathname)
    const entry = match === null ? undefined : registry.get(decodeURIComponent(match[1]))
    if (entry === undefined) return refuse(socket, 404, 'NOT_FOUND', 'PTY session not found')
    const header = req.headers['x-pty-token']
    const fromHeader = Array.isArray(header) ? header[0] : header
    const fromQuery = url.searchParams.get('token') ?? undefined
    const token = fromHeader ?? fromQuery
    const agree = fromHeader === undefined || fromQuery === undefined || fromHeader === fromQuery
    if (token === undefined || !agree || !registry.tokenMatches(entry, token)) {
      return refuse(socket, 401, 'UNAUTHORIZED', 'Missing or invalid session token')
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      keepAlive(ws, registry.opts.pingIntervalMs)
      entry.channel.attach(ws)
      registry.attached(entry)
    })
  })
}

// A client that stops answering pings is gone (a laptop lid closed): cut it so that the
// next connection does not wait for TCP to notice. The session itself lives on.
function keepAlive(ws: WebSocket, intervalMs: number): void {
  let alive = true
  ws.on('pong', () => (alive = true))
  const timer = setInterval(() => {
    // A socket paused for input is not read, its pong with it: not the client's silence.
    if (!alive && !ws.isPaused) return ws.terminate()
    alive = false
    ws.ping()
  }, intervalMs)
  timer.unref()
  ws.on('close', () => clearInterval(timer))
}

function refuse(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: message, code })
  const reason = status === 404 ? 'Not Found' : 'Unauthorized'
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}
