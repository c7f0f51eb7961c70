/**
 * The cap on running processes that `run` and `start` share (`maxProcesses`).
 */
import type { RouteContext } from '../http/context.js'
import { HttpError } from '../http/errors.js'

/**
 * Refuses a new process while the configured number are running or being launched
 * (spawns still queued count, so concurrent requests cannot overshoot the cap).
 *
 * @throws HttpError 429 `TOO_MANY_PROCESSES`.
 */
export function checkCapacity(ctx: RouteContext): void {
  const limit = ctx.settings.maxProcesses
  if (ctx.sup.active >= limit) {
    throw new HttpError('TOO_MANY_PROCESSES', `Limit of ${limit} running processes reached`)
  }
}
