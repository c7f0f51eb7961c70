/**
 * The endpoints of managed processes (spec §5): `POST /processes` with `name`, `restart`
 * or `health_check`, and `POST /processes/{pid_or_name}/restart`.
 */
import type { ManagedStartRequest } from '../types.js'
import { sendError, sendJson } from './body.js'
import type { RouteContext } from './context.js'
import { errorCode, HttpError, spawnErrorResponse } from './errors.js'
import { targetOf } from './target.js'

/** `POST /processes` for a managed process: 201 once its first run has started. */
export async function startManaged(ctx: RouteContext, body: Record<string, unknown>): Promise<void> {
  // Validation (400) and NAME_IN_USE (409) throw here, before anything runs.
  const m = ctx.sup.startManaged(body as unknown as ManagedStartRequest)
  try {
    await m.started
  } catch (err) {
    sendError(ctx.res, spawnErrorResponse(err))
    return
  }
  sendJson(ctx.res, 201, m.info())
}

/** `POST /processes/{pid_or_name}/restart`: 200 with the new run's ProcessInfo once it has started. */
export async function restart(ctx: RouteContext): Promise<void> {
  const { managed } = targetOf(ctx, ctx.params[0])
  if (managed === undefined) throw new HttpError('NOT_MANAGED', `Process ${ctx.params[0]} is not a managed process`)
  let info
  try {
    info = await managed.restart()
  } catch (err) {
    if (errorCode(err) === 'ERR_SUPERVISOR_CLOSED') throw err
    sendError(ctx.res, spawnErrorResponse(err))
    return
  }
  sendJson(ctx.res, 200, info)
}
