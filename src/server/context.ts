/**
 * What every route handler gets, and the lookups several of them share.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SupervisedProcess } from '../core/process.js'
import { HttpError } from './errors.js'
import type { Supervisor } from '../supervisor.js'
import type { IdempotencyKeys } from './idempotency.js'

/** The server's limits and settings after defaults are applied. */
export interface ServerSettings {
  maxProcesses: number
  maxJsonBytes: number
  maxStdinBytes: number
  maxStdinQueueBytes: number
  keepAliveMs: number
  highWaterMark: number
  version: string
  startedAt: number
  onError: (err: unknown) => void
  /** `Idempotency-Key`s of `POST /processes` seen in the last 10 minutes. */
  idempotency: IdempotencyKeys
}

/** One request as a handler sees it. */
export interface RouteContext {
  req: IncomingMessage
  res: ServerResponse
  sup: Supervisor
  settings: ServerSettings
  /** Captured path parameters, in the order of the route's pattern. */
  params: string[]
  /** Writes an API action to the audit log (a no-op without one). */
  audit: (record: Record<string, unknown>) => void
}

export type Handler = (ctx: RouteContext) => Promise<void>

/**
 * The process named by the `{pid}` path segment: the OS pid in decimal, the newest
 * process that had it (docs/protocol.md "Endpoints").
 *
 * @throws HttpError 404 `NOT_FOUND` with the protocol's message `Process 42 not found`.
 */
export function processOf(ctx: RouteContext, raw: string): SupervisedProcess {
  const pid = /^[0-9]{1,10}$/.test(raw) ? Number(raw) : Number.NaN
  const proc = Number.isSafeInteger(pid) ? ctx.sup.process(pid) : undefined
  if (proc === undefined) throw new HttpError('NOT_FOUND', `Process ${raw} not found`)
  return proc
}

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
