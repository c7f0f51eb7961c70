/**
 * A server's monitoring in one place: its metrics registry and `GET /metrics`, its audit
 * log, and the observers that feed both from the supervisor and the PTY sessions.
 */
import type { Supervisor } from '../../supervisor.js'
import type { Handler } from '../http/context.js'
import type { PtyEntry, PtyRegistry } from '../pty/sessions.js'
import type { Route } from '../http/router.js'
import type { AuditLog } from './audit-log.js'
import { auditObserver, currentTraceId, exitRecord } from './audit-events.js'
import { ServerMetrics } from './metrics.js'

export interface MonitoringOptions {
  /** Serve `GET /metrics`. */
  metrics: boolean
  auditLog: AuditLog | null
}

export class Monitoring {
  readonly metrics: ServerMetrics | null
  readonly #audit: AuditLog | null
  readonly #unsubscribe: Array<() => void> = []

  constructor(sup: Supervisor, pty: PtyRegistry, opts: MonitoringOptions) {
    this.#audit = opts.auditLog
    this.metrics = opts.metrics ? new ServerMetrics({ running: () => sup.running, ptySessions: () => pty.live }) : null
    if (this.metrics !== null) {
      this.#unsubscribe.push(sup.observe(this.metrics.observer))
      const metrics = this.metrics
      pty.observe({ created: () => metrics.ptyCreated() })
    }
    const log = this.#audit
    if (log !== null) {
      this.#unsubscribe.push(sup.observe(auditObserver(log, sup.cwd)))
      pty.observe({
        created: (e) =>
          log.write({
            event: 'pty_create',
            session_id: e.id,
            pid: e.session.pid,
            command: e.session.command,
            args: e.session.args,
            trace_id: currentTraceId(),
          }),
        attached: (e) => log.write({ event: 'pty_attach', session_id: e.id, pid: e.session.pid }),
        ended: (e: PtyEntry, ev) => log.write({ ...exitRecord(e.session.pid, ev), event: 'pty_end', session_id: e.id }),
      })
    }
  }

  /** `GET /metrics` at the root, behind the bearer token like every route. */
  route(): Route<Handler>[] {
    const metrics = this.metrics
    if (metrics === null) return []
    const handler: Handler = async ({ res }) => {
      const text = await metrics.registry.metrics()
      res.writeHead(200, { 'Content-Type': metrics.registry.contentType })
      res.end(text)
    }
    return [{ pattern: /^\/metrics$/, methods: { GET: handler } }]
  }

  /** Writes an API action (a signal, a DELETE, a stdin close) to the audit log, if there is one. */
  audit(record: Record<string, unknown>): void {
    this.#audit?.write(record)
  }

  /** A response ended. */
  request(route: string, status: number): void {
    this.metrics?.request(route, status)
  }

  /** Stops observing the supervisor (the server closed). The audit log is its owner's to close. */
  close(): void {
    for (const off of this.#unsubscribe.splice(0)) off()
  }
}
