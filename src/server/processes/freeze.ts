/**
 * `POST /processes/{pid}/freeze` and `/thaw` (docs/freeze.md): the tree stops or resumes
 * through its cgroup's freezer; answered with the ProcessInfo once the kernel confirms
 * it (`"frozen": true` while frozen). Without a freezer: 422 `FREEZE_UNAVAILABLE`.
 */
import type { CodedError } from '../../errors.js'
import { sendJson } from '../http/body.js'
import type { RouteContext } from '../http/context.js'
import { HttpError } from '../http/errors.js'
import { infoOf, targetOf } from './target.js'

export async function freeze(ctx: RouteContext): Promise<void> {
  await change(ctx, 'freeze')
}

export async function thaw(ctx: RouteContext): Promise<void> {
  await change(ctx, 'thaw')
}

async function change(ctx: RouteContext, op: 'freeze' | 'thaw'): Promise<void> {
  const t = targetOf(ctx, ctx.params[0])
  try {
    await t.run[op]()
  } catch (err) {
    const code = (err as CodedError).code
    if (code === 'FREEZE_UNAVAILABLE') throw new HttpError(code, (err as Error).message)
    if (code === 'PROCESS_NOT_RUNNING') throw new HttpError(code, `Process ${ctx.params[0]} is not running`)
    throw err
  }
  ctx.audit({ event: op, pid: t.run.pid })
  sendJson(ctx.res, 200, infoOf(t))
}
