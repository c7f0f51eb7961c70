/**
 * The reference HTTP server: the process API (docs/protocol.md "Endpoints") on
 * `node:http`.
 */
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { bearerChecker, isLoopback } from './auth.js'
import { DEFAULT_MAX_JSON_BYTES, DEFAULT_MAX_STDIN_BYTES, sendError } from './body.js'
import { consoleHandler } from './console/static.js'
import type { Handler, ServerSettings } from './context.js'
import { errorCode, HttpError, toErrorResponse } from './errors.js'
import { AuditLog } from './monitor/audit-log.js'
import { Monitoring } from './monitor/monitoring.js'
import { withRequestSpan } from './monitor/request-span.js'
import { labelOf, matchRoute, pathOf, type Route } from './router.js'
import * as routes from './routes.js'
import { follow, run } from './sse-routes.js'
import { DEFAULT_MAX_STDIN_QUEUE_BYTES, writeStdin } from './stdin-write.js'
import { DEFAULT_HIGH_WATER_MARK, DEFAULT_KEEP_ALIVE_MS } from './streams.js'
import type { Supervisor } from '../supervisor.js'
import { restart } from './managed-routes.js'
import { UpgradeFilteringRequest } from './upgrade.js'
import { DEFAULT_PTY_HOLD_BYTES } from './pty-channel.js'
import { ptyRoutes } from './pty-routes.js'
import { DEFAULT_MAX_PTY_SESSIONS, PtyRegistry } from './pty-sessions.js'
import { DEFAULT_PTY_PING_MS, ptySessionsOf, servePtySockets } from './pty-socket.js'
import { IdempotencyKeys } from './idempotency.js'

/** Default limit of running processes; one more is refused with 429. */
export const DEFAULT_MAX_PROCESSES = 256

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The supervisor whose processes the API exposes. The server never closes it. */
  supervisor: Supervisor
  /** Bearer token every request must carry. Required unless `allowNoAuth`. */
  token?: string
  /** Serve without a token; only honoured for connections on a loopback address. */
  allowNoAuth?: boolean
  /** Running processes at which `run` and `start` answer 429. Default 256. */
  maxProcesses?: number
  /** Largest JSON body, bytes; more is 413. Default 1 MiB. */
  maxJsonBytes?: number
  /** Largest stdin write, bytes; more is 413. Default 16 MiB. */
  maxStdinBytes?: number
  /** Bytes of stdin writes queued per process that it has not taken; more is 429. Default 32 MiB. */
  maxStdinQueueBytes?: number
  /** Quiet time before a `: keep-alive` comment on event streams, ms. Default 15000. */
  keepAliveMs?: number
  /** Unread bytes per event stream before the process is paused. Default 64 KiB. */
  highWaterMark?: number
  /** `version` of `GET /info`. Default: this package's version. */
  version?: string
  /** Live PTY sessions at which `POST /pty` answers 429. Default 64. */
  maxPtySessions?: number
  /** PTY scrollback per session, bytes, which also bounds output held while no client is ready (docs/pty.md). Default 1 MiB. */
  ptyHoldBytes?: number
  /** Interval of the PTY WebSocket's pings, ms. Default 30000. */
  ptyPingMs?: number
  /** Called with every internal error (those answered with 500). Default: `console.error`. */
  onError?: (err: unknown) => void
  /** Serve the browser console at `/` (no token needed for its static files). Default true. */
  console?: boolean
  /** Serve Prometheus metrics at `GET /metrics` (docs/monitoring.md). Default true. */
  metrics?: boolean
  /**
   * Audit log (docs/monitoring.md): one JSON line per process start, exit, signal, kill,
   * stdin close, PTY session event and managed restart. The caller owns it (reopens it on
   * SIGHUP, closes it after the server).
   */
  auditLog?: AuditLog
}

const P = '/api/v1'
const PID = '([^/]+)'
const ROUTES: readonly Route<Handler>[] = [
  { pattern: re(`${P}/health`), methods: { GET: routes.health } },
  { pattern: re(`${P}/info`), methods: { GET: routes.info } },
  { pattern: re(`${P}/processes`), methods: { GET: routes.list, POST: routes.start } },
  { pattern: re(`${P}/processes/run`), methods: { POST: run } },
  { pattern: re(`${P}/processes/${PID}`), methods: { GET: routes.get, DELETE: routes.remove } },
  { pattern: re(`${P}/processes/${PID}/signal`), methods: { POST: routes.signal } },
  { pattern: re(`${P}/processes/${PID}/restart`), methods: { POST: restart } },
  { pattern: re(`${P}/processes/${PID}/stdin`), methods: { POST: writeStdin } },
  { pattern: re(`${P}/processes/${PID}/stdin/close`), methods: { POST: routes.closeStdin } },
  { pattern: re(`${P}/processes/${PID}/(stdout|stderr|output)`), methods: { GET: routes.snapshot } },
  { pattern: re(`${P}/processes/${PID}/(stdout|stderr|output)/follow`), methods: { GET: follow } },
]

const supervisors = new WeakMap<Server, Supervisor>()
const monitorings = new WeakMap<Server, Monitoring>()
const shuttingDown = new WeakSet<Server>()

/**
 * Creates the HTTP server of the process API (not yet listening).
 *
 * @throws TypeError without a `token` unless `allowNoAuth` is set. A server without a
 *   token that is bound to a non-loopback address closes itself and emits `error` with
 *   code `ERR_NO_AUTH_NOT_LOOPBACK`, and answers any request that reaches it anyway on a
 *   non-loopback address with 401.
 */
export function createServer(options: ServerOptions): Server {
  const { supervisor, token } = options
  if (token === undefined || token === '') {
    if (options.allowNoAuth !== true) {
      throw new TypeError('token is required (or set allowNoAuth to serve loopback only)')
    }
  }
  const authorized = token ? bearerChecker(token) : null
  const settings: ServerSettings = {
    maxProcesses: positive('maxProcesses', options.maxProcesses, DEFAULT_MAX_PROCESSES),
    maxJsonBytes: positive('maxJsonBytes', options.maxJsonBytes, DEFAULT_MAX_JSON_BYTES),
    maxStdinBytes: positive('maxStdinBytes', options.maxStdinBytes, DEFAULT_MAX_STDIN_BYTES),
    maxStdinQueueBytes: positive('maxStdinQueueBytes', options.maxStdinQueueBytes, DEFAULT_MAX_STDIN_QUEUE_BYTES),
    keepAliveMs: positive('keepAliveMs', options.keepAliveMs, DEFAULT_KEEP_ALIVE_MS, true),
    highWaterMark: positive('highWaterMark', options.highWaterMark, DEFAULT_HIGH_WATER_MARK),
    version: options.version ?? packageVersion(),
    startedAt: Date.now(),
    onError: options.onError ?? ((err) => console.error('sandproc: internal error:', err)),
    idempotency: new IdempotencyKeys(),
  }

  const pty = new PtyRegistry({
    maxSessions: positive('maxPtySessions', options.maxPtySessions, DEFAULT_MAX_PTY_SESSIONS),
    holdBytes: positive('ptyHoldBytes', options.ptyHoldBytes, DEFAULT_PTY_HOLD_BYTES),
    pingIntervalMs: positive('ptyPingMs', options.ptyPingMs, DEFAULT_PTY_PING_MS),
    highWaterMark: settings.highWaterMark,
  })
  if (options.auditLog !== undefined && !(options.auditLog instanceof AuditLog)) {
    throw new TypeError('auditLog must be an AuditLog')
  }
  const monitoring = new Monitoring(supervisor, pty, { metrics: options.metrics !== false, auditLog: options.auditLog ?? null })
  const routeTable = [...ROUTES, ...ptyRoutes(P, pty), ...monitoring.route()]

  const serveConsole = options.console === false ? null : consoleHandler()
  // Only the PTY WebSocket upgrade is honoured; every other upgrade offer arrives here
  // as a plain request (upgrade.ts).
  const server = createHttpServer({ IncomingMessage: UpgradeFilteringRequest }, (req, res) => {
    // Known once the route matched; a request refused before that is labelled by its path's route.
    let label: string | null = null
    const routeLabel = (): string => (label ??= labelOf(routeTable, pathOf(req.url)))
    res.once('close', () => monitoring.request(routeLabel(), res.statusCode))
    withRequestSpan(req, res, routeLabel, () =>
      dispatch(req, res, (l) => (label = l)).catch((err: unknown) => respondError(res, err)),
    )
  })
  // During shutdown() the processes' exits are still to come: it stops the monitoring itself.
  server.once('close', () => {
    if (!shuttingDown.has(server)) monitoring.close()
  })
  const audit = (record: Record<string, unknown>): void => monitoring.audit(record)

  async function dispatch(req: IncomingMessage, res: ServerResponse, matched: (label: string) => void): Promise<void> {
    if (shuttingDown.has(server)) res.shouldKeepAlive = false
    // During shutdown a finished response leaves its connection idle: close it so that
    // `server.close()` can complete.
    res.on('finish', () => {
      if (shuttingDown.has(server)) setImmediate(() => server.closeIdleConnections())
    })
    if (serveConsole?.(req, res) === true) return matched('console')
    // API answers depend on the token: no cache may keep them (SSE sets its own no-cache).
    res.setHeader('Cache-Control', 'no-store')
    const allowed =
      authorized !== null
        ? authorized(req.headers.authorization)
        : isLoopback(req.socket.localAddress ?? '')
    if (!allowed) {
      throw new HttpError('UNAUTHORIZED', 'Missing or invalid bearer token', {
        'WWW-Authenticate': 'Bearer',
      })
    }
    const { handler, params, label } = matchRoute(routeTable, req.method ?? 'GET', pathOf(req.url))
    matched(label)
    await handler({ req, res, sup: supervisor, settings, params, audit })
  }

  function respondError(res: ServerResponse, err: unknown): void {
    const response = toErrorResponse(err)
    // A client that left mid-request is no fault of the server's.
    if (response.status >= 500 && errorCode(err) !== 'ECONNRESET') settings.onError(err)
    if (res.headersSent || res.destroyed) res.destroy()
    else sendError(res, response)
  }

  if (authorized === null) {
    server.on('listening', () => {
      const address = server.address()
      const host = typeof address === 'object' && address !== null ? address.address : ''
      if (isLoopback(host)) return
      server.close()
      const err = new Error(`Refusing to serve without a token on non-loopback address ${host}`)
      server.emit('error', Object.assign(err, { code: 'ERR_NO_AUTH_NOT_LOOPBACK' }))
    })
  }
  // Requests the HTTP parser refuses (oversized headers, a bad request line, a malformed
  // Content-Length or chunk, a body cut short) never reach a route: answer them with the
  // same JSON error body as everything else instead of Node's bodiless default.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy()
      return
    }
    socket.end(clientErrorResponse(err))
  })
  // An `Expect` other than 100-continue: Node's default answer is a bodiless 417.
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    res.shouldKeepAlive = false
    sendError(res, toErrorResponse(new HttpError('EXPECTATION_FAILED', 'Only Expect: 100-continue is supported')))
  })
  servePtySockets(server, P, pty)
  supervisors.set(server, supervisor)
  monitorings.set(server, monitoring)
  return server
}

/** How long responses may take to flush once the supervisor has closed, by default, ms. */
export const DEFAULT_SHUTDOWN_FLUSH_MS = 500

/**
 * Graceful shutdown: stops accepting connections, closes the supervisor (SIGTERM to
 * every process, SIGKILL after its grace period) so that every `run` stream ends with its
 * exit frame and every follow stream with `eof`, then waits until all connections are
 * closed; connections still open `forceAfterMs` after the supervisor closed (a client
 * that stopped reading) are cut, so shutdown ends within the kill grace plus a second
 * whatever clients do (docs/bounds.md).
 */
export async function shutdown(server: Server, forceAfterMs = DEFAULT_SHUTDOWN_FLUSH_MS): Promise<void> {
  const supervisor = supervisors.get(server)
  if (supervisor === undefined) throw new TypeError('server was not made by createServer')
  shuttingDown.add(server)
  const closed = new Promise<void>((resolve) => {
    if (!server.listening) resolve()
    else server.close(() => resolve())
  })
  server.closeIdleConnections()
  // PTY output held for a client that will never come must not keep a session alive.
  ptySessionsOf(server)?.releaseAll()
  await supervisor.close()
  monitorings.get(server)?.close()
  // Upgraded sockets are no longer the HTTP server's to close.
  ptySessionsOf(server)?.closeSockets()
  const force = setTimeout(() => server.closeAllConnections(), forceAfterMs)
  try {
    await closed
  } finally {
    clearTimeout(force)
  }
}

/** The raw bytes of the JSON error answer to a request the HTTP parser refused. */
function clientErrorResponse(err: NodeJS.ErrnoException): string {
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'HEADERS_TOO_LARGE', 'Request line and headers exceed the size limit']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'REQUEST_TIMEOUT', 'Request not received in time']
        : [400, 'INVALID_REQUEST', 'Malformed HTTP request']
  const body = JSON.stringify({ error: message, code })
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  )
}

function re(path: string): RegExp {
  return new RegExp(`^${path}$`)
}

function positive(name: string, value: number | undefined, fallback: number, zeroOk = false): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < (zeroOk ? 0 : 1)) {
    throw new TypeError(`${name} must be a ${zeroOk ? 'non-negative' : 'positive'} number`)
  }
  return value
}

function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
    const pkg: unknown = JSON.parse(text)
    const version: unknown = typeof pkg === 'object' && pkg !== null ? Reflect.get(pkg, 'version') : undefined
    return typeof version === 'string' ? version : '0.0.0'
  } catch {
    return '0.0.0'
  }
}
