/**
 * The PTY WebSocket (docs/protocol.md "The socket"): `GET /api/v1/pty/{id}/ws`,
 * authenticated in the HTTP server's `upgrade` event before `ws` sees the request, by
 * the session token (header `X-PTY-Token` or query `token`, equal if both are sent).
 * The bearer token is not needed: the session token is a capability handed only to an
 * authenticated creator. `Host` is not looked at (the SDK sends `<sandbox id>.local`).
 */
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'

import { MAX_PTY_FRAME } from '../../pty/wire.js'
import type { PtyRegistry } from './sessions.js'
import { refuseUpgrade } from '../http/upgrade.js'

/** How often the server pings each client; one missed pong and it is cut. */
export const DEFAULT_PTY_PING_MS = 30_000

const registries = new WeakMap<Server, PtyRegistry>()

/** The PTY sessions of a server made by createServer (for embedding and tests). */
export function ptySessionsOf(server: Server): PtyRegistry | undefined {
  return registries.get(server)
}

/**
 * Answers `upgrade` on `server` for the sessions of `registry`. Only WebSocket offers to
 * the PTY socket path get here (see ../http/upgrade.ts); an unknown session is 404.
 */
export function servePtySockets(server: Server, prefix: string, registry: PtyRegistry): void {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_PTY_FRAME,
    clientTracking: false,
  })
  registries.set(server, registry)
  const path = new RegExp(`^${prefix}/pty/([^/?]+)/ws$`)
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    // Nothing a client sends may throw out of this listener: an exception here would
    // take the whole server down (docs/hardening.md).
    try {
      accept(req, socket, head)
    } catch {
      refuseUpgrade(socket, 400, 'INVALID_REQUEST', 'Malformed PTY socket request')
    }
  })

  function accept(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const target = req.url ?? '/'
    const query = target.indexOf('?')
    const match = path.exec(query === -1 ? target : target.slice(0, query))
    const id = match === null ? undefined : decoded(match[1])
    if (id === undefined) return refuseUpgrade(socket, 400, 'INVALID_REQUEST', 'Malformed PTY socket path')
    const entry = registry.get(id)
    if (entry === undefined) return refuseUpgrade(socket, 404, 'NOT_FOUND', 'PTY session not found')
    const header = req.headers['x-pty-token']
    const fromHeader = Array.isArray(header) ? header[0] : header
    const fromQuery = new URLSearchParams(query === -1 ? '' : target.slice(query + 1)).get('token') ?? undefined
    const token = fromHeader ?? fromQuery
    const agree = fromHeader === undefined || fromQuery === undefined || fromHeader === fromQuery
    if (token === undefined || !agree || !registry.tokenMatches(entry, token)) {
      return refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'Missing or invalid session token')
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // The old program of a live upgrade: the new one will serve this client (docs/upgrade.md).
      if (registry.restarting) return ws.close(1012, 'service restart')
      keepAlive(ws, registry.opts.pingIntervalMs)
      entry.channel.attach(ws)
      registry.attached(entry)
    })
  }
}

/** The percent-decoded segment, or undefined when it does not decode (`%ZZ`). */
function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
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
