/**
 * The endpoint of managed processes (docs/protocol.md "Managed processes"):
 * `POST /processes/{pid_or_name}/restart`. (A managed start is `POST /processes` with
 * `name`, `restart` or `health_check`: routes.ts.)
 */
import { sendError, sendJson } from '../http/body.js'
import type { RouteContext } from '../http/context.js'
import { errorCode, spawnErrorResponse } from '../../errors.js'
import { HttpError } from '../http/errors.js'
import { targetOf } from './target.js'

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
