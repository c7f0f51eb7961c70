/**
 * What every route handler gets.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Supervisor } from '../../supervisor.js'
import type { IdempotencyKeys } from '../processes/idempotency.js'
import type { RunStreams } from '../sse/run-streams.js'

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
  /** The `run` streams being sent, which a live upgrade carries. */
  runStreams: RunStreams
  /** Writes an API action to the audit log (a no-op without one). */
  audit: (record: Record<string, unknown>) => void
}

export type Handler = (ctx: RouteContext) => Promise<void>
