/**
 * Which HTTP upgrades the server honours: a WebSocket `GET` on the PTY socket path and
 * nothing else (docs/hardening.md). Any other offer (`Upgrade: h2c` from `curl --http2`,
 * a WebSocket to an API path) is ignored and the request served as a plain request.
 *
 * Node's server hands every request that offers an upgrade to its `upgrade` listeners,
 * and Node 20 has no `shouldUpgradeCallback` to say no. The decision it reads is the
 * request's `upgrade` flag, read after the request line and headers are parsed: the
 * request class below answers it with {@link honoursUpgrade}.
 */
import { IncomingMessage, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'

const PTY_SOCKET = /^\/api\/v1\/pty\/[^/?]+\/ws(?:\?|$)/
const offered = Symbol('upgrade offered')

/** True for the one upgrade the server serves: a WebSocket to `/api/v1/pty/{id}/ws`. */
export function honoursUpgrade(req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>): boolean {
  const protocols = req.headers.upgrade ?? ''
  return req.method === 'GET' && PTY_SOCKET.test(req.url ?? '') && /(?:^|,)\s*websocket\s*(?:,|$)/i.test(protocols)
}

/**
 * The server's request class (`createServer({ IncomingMessage })`): its `upgrade` flag is
 * true only for an upgrade the server honours, so Node serves every other offer through
 * the `request` listener, body included.
 */
export class UpgradeFilteringRequest extends IncomingMessage {}

// An accessor on the prototype (TypeScript cannot override the base's data property with
// one), keyed by a symbol: the base constructor sets `upgrade` before any field exists.
Object.defineProperty(UpgradeFilteringRequest.prototype, 'upgrade', {
  get(this: IncomingMessage & { [offered]?: boolean }): boolean {
    return this[offered] === true && honoursUpgrade(this)
  },
  set(this: IncomingMessage & { [offered]?: boolean }, value: boolean) {
    this[offered] = value
  },
})

/** Answers a refused upgrade with a plain HTTP response carrying the JSON error body, then closes. */
export function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const body = JSON.stringify({ error: message, code })
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
  // A peer that never reads must not keep the socket: the answer is small and final.
  socket.once('finish', () => socket.destroy())
}
