/**
 * The fields of a managed start request (docs/protocol.md "Managed processes"):
 * `name`, `restart` and `health_check`, validated and with their defaults filled in.
 * Every check throws a TypeError with code INVALID_REQUEST naming the field, as the
 * core's validation does.
 */
import { invalid } from '../errors.js'
import type { HealthCheckSpec, ManagedInfo, RestartPolicy } from '../types.js'

/** `restart` with every default applied. */
export type RestartSettings = ManagedInfo['restart']
/** `health_check` with every default applied. */
export type HealthSettings = Required<HealthCheckSpec>

/** The managed part of a start request after validation. */
export interface ManagedSpec {
  name: string | null
  restart: RestartSettings
  healthCheck: HealthSettings | null
}

// Timers fire at once past 2^31-1 ms: a longer delay would be no delay at all.
const MAX_MS = 0x7fffffff
const MAX_NAME_BYTES = 255

/** True when the request asks for a managed process: any of `name`, `restart`, `health_check`. */
export function isManagedRequest(req: unknown): boolean {
  if (typeof req !== 'object' || req === null) return false
  const r = req as Record<string, unknown>
  return present(r.name) || present(r.restart) || present(r.health_check)
}

/** Validates the managed fields of `req` (the rest is the core's `normalize`). */
export function managedSpec(req: Record<string, unknown>): ManagedSpec {
  return {
    name: present(req.name) ? validName(req.name) : null,
    restart: restartSettings(req.restart),
    healthCheck: present(req.health_check) ? healthSettings(req.health_check) : null,
  }
}

/** A process name: non-empty, at most 255 bytes, no `/`, no control characters, not all digits, not `.` or `..`. */
export function validName(v: unknown): string {
  if (typeof v !== 'string') throw invalid('name', 'must be a string')
  if (v === '') throw invalid('name', 'must not be empty')
  if (Buffer.byteLength(v) > MAX_NAME_BYTES) throw invalid('name', `must be at most ${MAX_NAME_BYTES} bytes`)
  if (v.includes('/')) throw invalid('name', 'must not contain "/"')
  if (/\p{Cc}/u.test(v)) throw invalid('name', 'must not contain NUL or control characters')
  // All digits is a pid in every /processes/{pid_or_name} path.
  if (/^[0-9]+$/.test(v)) throw invalid('name', 'must not be all digits')
  // GET and DELETE /processes/run are the run endpoint's path (405), not a name's.
  if (v === 'run') throw invalid('name', 'must not be "run" (the path of POST /processes/run)')
  // WHATWG URL clients (fetch, browsers, the console) remove dot segments from a path,
  // even percent-encoded ones, so no such client could ever address these names.
  if (v === '.' || v === '..') throw invalid('name', 'must not be "." or ".."')
  return v
}

function restartSettings(v: unknown): RestartSettings {
  const r = object(v, 'restart')
  const policy = oneOf(r.policy, 'restart.policy', ['never', 'on_failure', 'always'] as const, 'on_failure')
  const maxRestarts = present(r.max_restarts)
    ? integer(r.max_restarts, 'restart.max_restarts', 0, Number.MAX_SAFE_INTEGER)
    : null
  const initial = present(r.initial_backoff_ms) ? integer(r.initial_backoff_ms, 'restart.initial_backoff_ms', 0) : 500
  const max = present(r.max_backoff_ms)
    ? integer(r.max_backoff_ms, 'restart.max_backoff_ms', 0)
    : Math.max(30000, initial)
  if (max < initial) throw invalid('restart.max_backoff_ms', 'must be at least restart.initial_backoff_ms')
  return {
    policy: policy as RestartPolicy,
    max_restarts: maxRestarts,
    initial_backoff_ms: initial,
    max_backoff_ms: max,
  }
}

function healthSettings(v: unknown): HealthSettings {
  const h = object(v, 'health_check')
  if (!present(h.type)) throw invalid('health_check.type', 'is required')
  const type = oneOf(h.type, 'health_check.type', ['http', 'tcp'] as const, 'http')
  if (!present(h.port)) throw invalid('health_check.port', 'is required')
  const port = integer(h.port, 'health_check.port', 1, 65535)
  let path = '/'
  if (present(h.path)) {
    if (typeof h.path !== 'string' || !h.path.startsWith('/'))
      throw invalid('health_check.path', 'must be a string starting with "/"')
    // The path goes into a request line: no spaces or control characters.
    if (/[\s\p{Cc}]/u.test(h.path)) throw invalid('health_check.path', 'must not contain spaces or control characters')
    path = h.path
  }
  return {
    type,
    port,
    path,
    initial_delay_ms: present(h.initial_delay_ms)
      ? integer(h.initial_delay_ms, 'health_check.initial_delay_ms', 0)
      : 5000,
    interval_ms: present(h.interval_ms) ? integer(h.interval_ms, 'health_check.interval_ms', 1) : 1000,
    timeout_ms: present(h.timeout_ms) ? integer(h.timeout_ms, 'health_check.timeout_ms', 1) : 500,
    failure_threshold: present(h.failure_threshold)
      ? integer(h.failure_threshold, 'health_check.failure_threshold', 1, Number.MAX_SAFE_INTEGER)
      : 3,
  }
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null
}

function object(v: unknown, field: string): Record<string, unknown> {
  if (!present(v)) return {}
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(field, 'must be an object')
  return v as Record<string, unknown>
}

function integer(v: unknown, field: string, min: number, max = MAX_MS): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(field, `must be an integer from ${min} to ${max}`)
  }
  return v
}

function oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[], fallback: T): T {
  if (!present(v)) return fallback
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw invalid(field, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`)
  }
  return v as T
}
