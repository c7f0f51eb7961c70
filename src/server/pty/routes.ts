/**
 * The HTTP half of PTY sessions (docs/protocol.md "PTY sessions"): create, list, get,
 * resize, delete. The WebSocket itself is in socket.ts (it never reaches these routes).
 */
import type { PtyRequest } from '../../pty/index.js'
import { colsOf, rowsOf } from '../../pty/request.js'
import { readJsonObject, sendEmpty, sendError, sendJson } from '../http/body.js'
import type { Handler, RouteContext } from '../http/context.js'
import { errorCode, spawnErrorResponse } from '../../errors.js'
import { HttpError } from '../http/errors.js'
import { exact, type Route } from '../http/router.js'
import { infoOf, type PtyEntry, type PtyRegistry } from './sessions.js'

/**
 * The PTY routes (docs/protocol.md "PTY sessions") under `prefix` (`/api/v1`), bound
 * to one server's sessions.
 */
export function ptyRoutes(prefix: string, registry: PtyRegistry): Route<Handler>[] {
  const base = `${prefix}/pty`
  return [
    { pattern: exact(base), methods: { GET: (ctx) => list(ctx, registry), POST: (ctx) => create(ctx, registry) } },
    {
      pattern: exact(`${base}/([^/]+)`),
      methods: { GET: (ctx) => get(ctx, registry), DELETE: (ctx) => remove(ctx, registry) },
    },
    { pattern: exact(`${base}/([^/]+)/resize`), methods: { POST: (ctx) => resize(ctx, registry) } },
  ]
}

/** `POST /pty`: 201 `{session_id, token, pid}` once the program runs. */
async function create(ctx: RouteContext, registry: PtyRegistry): Promise<void> {
  const body = await readJsonObject(ctx.req, ctx.settings.maxJsonBytes)
  const limit = registry.opts.maxSessions
  if (registry.live >= limit) throw new HttpError('TOO_MANY_SESSIONS', `Limit of ${limit} live PTY sessions reached`)
  // Validation throws INVALID_REQUEST naming the field (a 400 by toErrorResponse).
  const session = ctx.sup.pty(body as unknown as PtyRequest)
  // Registered at once: output written before the first client is held from the start.
  const { entry, token } = registry.add(session)
  try {
    await session.started
  } catch (err) {
    registry.delete(entry.id)
    sendError(ctx.res, spawnErrorResponse(err))
    return
  }
  sendJson(ctx.res, 201, { session_id: entry.id, token, pid: session.pid })
}

async function list(ctx: RouteContext, registry: PtyRegistry): Promise<void> {
  sendJson(ctx.res, 200, { sessions: registry.list().map(infoOf) })
}

async function get(ctx: RouteContext, registry: PtyRegistry): Promise<void> {
  sendJson(ctx.res, 200, infoOf(entryOf(ctx, registry)))
}

/** `POST /pty/{id}/resize` with `{"rows", "cols"}`; 400 PROCESS_NOT_RUNNING once ended. */
async function resize(ctx: RouteContext, registry: PtyRegistry): Promise<void> {
  const entry = entryOf(ctx, registry)
  const body = await readJsonObject(ctx.req, ctx.settings.maxJsonBytes)
  const rows = rowsOf(body.rows)
  const cols = colsOf(body.cols)
  try {
    entry.session.resize(cols, rows)
  } catch (err) {
    if (errorCode(err) === 'PROCESS_NOT_RUNNING')
      throw new HttpError('PROCESS_NOT_RUNNING', `PTY session ${entry.id} has ended`)
    throw err
  }
  sendEmpty(ctx.res, 204)
}

/**
 * `DELETE /pty/{id}`: kill the tree, wait for the reap, close the client with 1000
 * "session terminated" (no exit frame: the SDKs take that close as a kill), forget it.
 */
async function remove(ctx: RouteContext, registry: PtyRegistry): Promise<void> {
  const entry = entryOf(ctx, registry)
  entry.channel.terminate()
  entry.session.killTree()
  await entry.session.exited.catch(() => undefined)
  entry.channel.closeTerminated()
  registry.delete(entry.id)
  sendEmpty(ctx.res, 204)
}

function entryOf(ctx: RouteContext, registry: PtyRegistry): PtyEntry {
  const entry = registry.get(ctx.params[0])
  if (entry === undefined) throw new HttpError('NOT_FOUND', `PTY session ${ctx.params[0]} not found`)
  return entry
}
