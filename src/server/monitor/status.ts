/**
 * Whether the server is up and what it runs on: `GET /health` and `GET /info`.
 */
import { sendJson } from '../http/body.js'
import type { Handler, RouteContext } from '../http/context.js'
import { exact, type Route } from '../http/router.js'

/** The routes of `health` and `info` under `prefix` (`/api/v1`). */
export function statusRoutes(prefix: string): Route<Handler>[] {
  return [
    { pattern: exact(`${prefix}/health`), methods: { GET: health } },
    { pattern: exact(`${prefix}/info`), methods: { GET: info } },
  ]
}

async function health(ctx: RouteContext): Promise<void> {
  sendJson(ctx.res, 200, { healthy: true })
}

async function info(ctx: RouteContext): Promise<void> {
  sendJson(ctx.res, 200, {
    version: ctx.settings.version,
    uptime_secs: Math.floor((Date.now() - ctx.settings.startedAt) / 1000),
    running_processes: ctx.sup.running,
    total_processes: ctx.sup.total,
    // sandproc's addition: where the cgroups go, or why OOM detection is off and the fix.
    capabilities: ctx.sup.capabilities,
  })
}
