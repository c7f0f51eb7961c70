/**
 * What goes into the audit log, event by event (the line format is in docs/monitoring.md).
 * Environment values and the token never do: a start line lists the keys of the
 * request's `env` only.
 */
import { resolve } from 'node:path'
import { context, trace } from '@opentelemetry/api'

import type { SupervisorObserver } from '../../core/observer.js'
import type { SupervisedProcess } from '../../core/process.js'
import type { Normalized } from '../../core/validate.js'
import type { ExitEvent } from '../../types.js'
import type { AuditLog } from './audit-log.js'

/** The supervisor observer that writes start, spawn failure, exit and restart lines. */
export function auditObserver(log: AuditLog, baseCwd: string): SupervisorObserver {
  return {
    launched(proc, req) {
      // Read now: the request's context is active during the launch only.
      const traceId = currentTraceId()
      proc.started.then(
        () => log.write(startRecord(proc, req, resolve(baseCwd, req.workingDir ?? '.'), traceId)),
        (err: { code?: unknown; syscall?: unknown }) =>
          log.write({
            event: 'spawn_failed',
            command: req.command,
            args: req.args,
            code: err.code ?? null,
            syscall: err.syscall ?? null,
            trace_id: traceId,
          }),
      )
      proc.exited.then((ev) => log.write(exitRecord(proc.pid, ev)), noop)
    },
    restarted(name, run, automatic) {
      run.started.then(() => log.write({ event: 'restart', name, pid: run.pid, automatic }), noop)
    },
  }
}

function startRecord(
  proc: SupervisedProcess,
  req: Readonly<Normalized>,
  workingDir: string,
  traceId: string | null,
): Record<string, unknown> {
  return {
    event: 'start',
    pid: proc.pid,
    handle: proc.handle,
    command: req.command,
    args: req.args,
    working_dir: workingDir,
    user: proc.info().user,
    env_keys: Object.keys(req.env),
    limits: {
      timeout_s: req.timeoutMs === undefined ? null : req.timeoutMs / 1000,
      memory_bytes: req.memoryLimit ?? null,
      pids: req.pidsLimit ?? null,
      cpus: req.cpuLimit ?? null,
    },
    trace_id: traceId,
  }
}

/** The exit line of a process or a PTY session's child. */
export function exitRecord(pid: number, ev: ExitEvent): Record<string, unknown> {
  return {
    event: 'exit',
    pid,
    reason: ev.reason,
    exit_code: ev.exit_code ?? null,
    signal: ev.signal ?? null,
    usage: ev.usage ?? null,
  }
}

/** The trace id of the active span: the request's (its `traceparent`), when there is one. */
export function currentTraceId(): string | null {
  const sc = trace.getSpanContext(context.active())
  return sc !== undefined && trace.isSpanContextValid(sc) ? sc.traceId : null
}

function noop(): void {}
