/**
 * The reference HTTP server: the process API (docs/protocol.md "Endpoints") on
 * `node:http`.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Supervisor } from '../supervisor.js'
import { consoleHandler } from './console/static.js'
import { bearerChecker, isLoopback } from './http/auth.js'
import { sendError } from './http/body.js'
import { errorCode } from '../errors.js'
import { clientErrorResponse, HttpError, toErrorResponse } from './http/errors.js'
import { labelOf, matchRoute, pathOf } from './http/router.js'
import { UpgradeFilteringRequest } from './http/upgrade.js'
import { AuditLog } from './monitor/audit-log.js'
import { Monitoring } from './monitor/monitoring.js'
import { withRequestSpan } from './monitor/request-span.js'
import { monitorRoutes } from './monitor/routes.js'
import { ptyOptionsOf, settingsOf, type ServerOptions } from './options.js'
import { processRoutes } from './processes/routes.js'
import { ptyRoutes } from './pty/routes.js'
import { PtyRegistry } from './pty/sessions.js'
import { ptySessionsOf, servePtySockets } from './pty/socket.js'
import { RunStreams } from './sse/run-streams.js'
import { sseRoutes } from './sse/routes.js'

export { DEFAULT_MAX_PROCESSES, type ServerOptions } from './options.js'

const P = '/api/v1'

const supervisors = new WeakMap<Server, Supervisor>()
const monitorings = new WeakMap<Server, Monitoring>()
const shuttingDown = new WeakSet<Server>()
const runStreamsByServer = new WeakMap<Server, RunStreams>()

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
  const settings = settingsOf(options)
  const pty = new PtyRegistry(ptyOptionsOf(options, settings.highWaterMark))
  const runStreams = options.runStreams ?? new RunStreams()
  if (options.auditLog !== undefined && !(options.auditLog instanceof AuditLog)) {
    throw new TypeError('auditLog must be an AuditLog')
  }
  const monitoring = new Monitoring(supervisor, pty, {
    metrics: options.metrics !== false,
    auditLog: options.auditLog ?? null,
  })
  // Each room's routes; the SSE room's before the processes room's, as its `processes/run`
  // would otherwise be taken for `processes/{id}` (sse/routes.ts).
  const routeTable = [...monitorRoutes(P, monitoring), ...sseRoutes(P), ...processRoutes(P), ...ptyRoutes(P, pty)]

  const serveConsole = options.console === false ? null : consoleHandler()
  // Only the PTY WebSocket upgrade is honoured; every other upgrade offer arrives here
  // as a plain request (http/upgrade.ts).
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
      authorized !== null ? authorized(req.headers.authorization) : isLoopback(req.socket.localAddress ?? '')
    if (!allowed) {
      throw new HttpError('UNAUTHORIZED', 'Missing or invalid bearer token', {
        'WWW-Authenticate': 'Bearer',
      })
    }
    const { handler, params, label } = matchRoute(routeTable, req.method ?? 'GET', pathOf(req.url))
    matched(label)
    await handler({ req, res, sup: supervisor, settings, params, audit, runStreams })
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
  runStreamsByServer.set(server, runStreams)
  return server
}

/** The `run` streams `server` is sending (a live upgrade carries them). */
export function runStreamsOf(server: Server): RunStreams {
  const streams = runStreamsByServer.get(server)
  if (streams === undefined) throw new TypeError('server was not made by createServer')
  return streams
}

/**
 * How a connection whose response was sent outside the server (a `run` stream carried
 * across a live upgrade) comes back to it for the client's next request; null while
 * shutting down, when it should just be closed.
 */
export function connectionTaker(server: Server): ((socket: Socket) => boolean) | null {
  if (shuttingDown.has(server) || !server.listening) return null
  return (socket) => {
    server.emit('connection', socket)
    return true
  }
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
  const runs = runStreamsByServer.get(server)
  const force = setTimeout(() => {
    server.closeAllConnections()
    runs?.destroyCarried()
  }, forceAfterMs)
  try {
    await Promise.all([closed, runs?.carriedDone()])
  } finally {
    clearTimeout(force)
  }
}
