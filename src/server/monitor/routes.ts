/**
 * The monitor room's routes: whether the server is up and what it runs on (`GET /health`,
 * `GET /info`), and `GET /metrics` when the server serves metrics (monitoring.ts).
 */
import { sendJson } from '../http/body.js'
import type { Handler, RouteContext } from '../http/context.js'
import { exact, type Route } from '../http/router.js'
import type { Monitoring } from './monitoring.js'

/** `health` and `info` under `prefix` (`/api/v1`); `/metrics` at the root. */
export function monitorRoutes(prefix: string, monitoring: Monitoring): Route<Handler>[] {
  return [
    { pattern: exact(`${prefix}/health`), methods: { GET: health } },
    { pattern: exact(`${prefix}/info`), methods: { GET: info } },
    ...monitoring.route(),
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
