/**
 * What `createServer` takes, checked and with defaults applied (docs/bounds.md has the
 * limits). Bad values throw TypeError naming the option.
 */
import { readFileSync } from 'node:fs'
import { DEFAULT_MAX_JSON_BYTES, DEFAULT_MAX_STDIN_BYTES } from './http/body.js'
import type { ServerSettings } from './http/context.js'
import type { AuditLog } from './monitor/audit-log.js'
import { IdempotencyKeys } from './processes/idempotency.js'
import { DEFAULT_MAX_STDIN_QUEUE_BYTES } from './processes/stdin.js'
import { DEFAULT_PTY_HOLD_BYTES } from './pty/channel.js'
import { DEFAULT_MAX_PTY_SESSIONS, type RegistryOptions } from './pty/sessions.js'
import { DEFAULT_PTY_PING_MS } from './pty/socket.js'
import { DEFAULT_HIGH_WATER_MARK, DEFAULT_KEEP_ALIVE_MS } from './sse/streams.js'
import type { Supervisor } from '../supervisor.js'
import type { RunStreams } from './sse/run-streams.js'

/** Default limit of running processes; one more is refused with 429. */
export const DEFAULT_MAX_PROCESSES = 256

/** Options of `createServer`. */
export interface ServerOptions {
  /** The supervisor whose processes the API exposes. The server never closes it. */
  supervisor: Supervisor
  /** Bearer token every request must carry. Required unless `allowNoAuth`. */
  token?: string
  /** Serve without a token; only honoured for connections on a loopback address. */
  allowNoAuth?: boolean
  /** Running processes at which `run` and `start` answer 429. Default 256. */
  maxProcesses?: number
  /** Largest JSON body, bytes; more is 413. Default 1 MiB. */
  maxJsonBytes?: number
  /** Largest stdin write, bytes; more is 413. Default 16 MiB. */
  maxStdinBytes?: number
  /** Bytes of stdin writes queued per process that it has not taken; more is 429. Default 32 MiB. */
  maxStdinQueueBytes?: number
  /** Quiet time before a `: keep-alive` comment on event streams, ms. Default 15000. */
  keepAliveMs?: number
  /** Unread bytes per event stream before the process is paused. Default 64 KiB. */
  highWaterMark?: number
  /** `version` of `GET /info`. Default: this package's version. */
  version?: string
  /** Live PTY sessions at which `POST /pty` answers 429. Default 64. */
  maxPtySessions?: number
  /** PTY scrollback per session, bytes, which also bounds output held while no client is ready (docs/pty.md). Default 1 MiB. */
  ptyHoldBytes?: number
  /** Interval of the PTY WebSocket's pings, ms. Default 30000. */
  ptyPingMs?: number
  /** Called with every internal error (those answered with 500). Default: `console.error`. */
  onError?: (err: unknown) => void
  /** Serve the browser console at `/` (no token needed for its static files). Default true. */
  console?: boolean
  /** Serve Prometheus metrics at `GET /metrics` (docs/monitoring.md). Default true. */
  metrics?: boolean
  /**
   * Audit log (docs/monitoring.md): one JSON line per process start, exit, signal, kill,
   * stdin close, PTY session event and managed restart. The caller owns it (reopens it on
   * SIGHUP, closes it after the server).
   */
  auditLog?: AuditLog
  /** Where `run` streams are tracked: the one `resumeServer` filled after a live upgrade (docs/upgrade.md). */
  runStreams?: RunStreams
}

/**
 * The server's settings from its options.
 *
 * @throws TypeError naming the first option that is not a number in range.
 */
export function settingsOf(options: ServerOptions): ServerSettings {
  return {
    maxProcesses: positive('maxProcesses', options.maxProcesses, DEFAULT_MAX_PROCESSES),
    maxJsonBytes: positive('maxJsonBytes', options.maxJsonBytes, DEFAULT_MAX_JSON_BYTES),
    maxStdinBytes: positive('maxStdinBytes', options.maxStdinBytes, DEFAULT_MAX_STDIN_BYTES),
    maxStdinQueueBytes: positive('maxStdinQueueBytes', options.maxStdinQueueBytes, DEFAULT_MAX_STDIN_QUEUE_BYTES),
    keepAliveMs: positive('keepAliveMs', options.keepAliveMs, DEFAULT_KEEP_ALIVE_MS, true),
    highWaterMark: positive('highWaterMark', options.highWaterMark, DEFAULT_HIGH_WATER_MARK),
    version: options.version ?? packageVersion(),
    startedAt: Date.now(),
    onError: options.onError ?? ((err) => console.error('sandproc: internal error:', err)),
    idempotency: new IdempotencyKeys(),
  }
}

/** The PTY sessions' limits from the options; `highWaterMark` is the server's. */
export function ptyOptionsOf(options: ServerOptions, highWaterMark: number): RegistryOptions {
  return {
    maxSessions: positive('maxPtySessions', options.maxPtySessions, DEFAULT_MAX_PTY_SESSIONS),
    holdBytes: positive('ptyHoldBytes', options.ptyHoldBytes, DEFAULT_PTY_HOLD_BYTES),
    pingIntervalMs: positive('ptyPingMs', options.ptyPingMs, DEFAULT_PTY_PING_MS),
    highWaterMark,
  }
}

function positive(name: string, value: number | undefined, fallback: number, zeroOk = false): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < (zeroOk ? 0 : 1)) {
    throw new TypeError(`${name} must be a ${zeroOk ? 'non-negative' : 'positive'} number`)
  }
  return value
}

function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
    const pkg: unknown = JSON.parse(text)
    const version: unknown = typeof pkg === 'object' && pkg !== null ? Reflect.get(pkg, 'version') : undefined
    return typeof version === 'string' ? version : '0.0.0'
  } catch {
    return '0.0.0'
  }
}
