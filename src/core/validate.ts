/**
 * Request validation (docs/protocol.md "Requests"). Every check throws a TypeError
 * with code INVALID_REQUEST whose message names the field; nothing here touches the
 * system.
 */
import { parseCpuLimit, parseMemoryLimit, parsePidsLimit } from '../cgroup/index.js'
import { invalid } from '../errors.js'
import type { OutputEncoding, StartRequest, UserSpec } from '../types.js'

/** A request after validation, in the shape the supervisor works with. */
export interface Normalized {
  command: string
  args: string[]
  env: Record<string, string>
  workingDir: string | undefined
  user: UserSpec | undefined
  timeoutMs: number | undefined
  /** No output for this long ends the process (`idle_timeout`). */
  idleTimeoutMs: number | undefined
  /** `timeout_grace`: SIGTERM first, SIGKILL this much later; 0 by default. */
  timeoutGraceMs: number
  encoding: OutputEncoding
  /** `run` only: `max_output_bytes`. */
  maxOutputBytes: number | undefined
  memoryLimit: number | undefined
  pidsLimit: number | undefined
  cpuLimit: number | undefined
  stdin: 'closed' | 'pipe'
  stdout: 'capture' | 'discard'
  /** `stdout`: stderr is the stdout pipe itself (one stream, exact order). */
  stderr: 'capture' | 'discard' | 'stdout'
}

// setTimeout fires at once past 2^31-1 ms; a longer timeout would be no timeout at all.
const MAX_TIMEOUT_S = Math.floor(0x7fffffff / 1000)

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw invalid(field, 'must be a string')
  if (v.includes('\0')) throw invalid(field, 'must not contain NUL bytes')
  return v
}

function oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[], fallback: T): T {
  if (v === undefined || v === null) return fallback
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw invalid(field, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`)
  }
  return v as T
}

function user(v: unknown): UserSpec | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') {
    str(v, 'user')
    if (!/^(\d+(:\d+)?|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/.test(v)) {
      throw invalid('user', 'must be a user name, a uid, or "uid:gid"')
    }
    // Numeric forms must be real ids: 4294967295 is (uid_t)-1, which the kernel takes
    // as "unchanged" (the child would stay root), and larger numbers would wrap.
    const numeric = /^(\d+)(?::(\d+))?$/.exec(v)
    if (numeric !== null) {
      id(Number(numeric[1]), 'user')
      if (numeric[2] !== undefined) id(Number(numeric[2]), 'user')
    }
    return v
  }
  if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>
    if ('name' in o && o.name !== undefined) {
      if (o.uid !== undefined || o.gid !== undefined) throw invalid('user', 'takes either name or uid/gid')
      return { name: user(str(o.name, 'user.name')) as string }
    }
    if ('uid' in o) {
      const uid = id(o.uid, 'user.uid')
      return o.gid === undefined ? { uid } : { uid, gid: id(o.gid, 'user.gid') }
    }
  }
  throw invalid('user', 'must be a string, {"uid", "gid"} or {"name"}')
}

/** A uid or gid: an integer below 2^32-1 ((uid_t)-1 means "unchanged" to the kernel). */
export function id(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 0xffffffff) {
    throw invalid(field, 'must be an integer from 0 to 4294967294')
  }
  return v
}

/**
 * A duration in seconds as milliseconds: > 0 (or >= 0 with `zeroOk`), finite, fractions
 * allowed; a non-zero one is at least 1 ms.
 */
function seconds(v: unknown, field: string, zeroOk: boolean): number | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (v === 0 && !zeroOk)) {
    throw invalid(field, zeroOk ? 'must be a non-negative number of seconds' : 'must be a positive number of seconds')
  }
  if (v > MAX_TIMEOUT_S) throw invalid(field, `must be at most ${MAX_TIMEOUT_S} seconds`)
  return v === 0 ? 0 : Math.max(1, Math.round(v * 1000))
}

/** `max_output_bytes`: an integer >= 2 (a half for the head, a half for the tail). */
function maxOutput(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 2)
    throw invalid('max_output_bytes', 'must be an integer of at least 2')
  return v
}

/**
 * Validates a `run` or `start` request. `run` ignores the stdio modes
 * (docs/protocol.md "Requests").
 */
export function normalize(req: unknown, kind: 'run' | 'start'): Normalized {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) throw invalid('request', 'must be an object')
  const r = req as StartRequest & Record<string, unknown>
  const command = str(r.command, 'command')
  if (command === '') throw invalid('command', 'must not be empty')

  let args: string[] = []
  if (r.args !== undefined && r.args !== null) {
    if (!Array.isArray(r.args)) throw invalid('args', 'must be an array of strings')
    // Array.from visits holes of a sparse array (as undefined); map would keep them,
    // and a hole reaching the addon is a fatal error of the whole process.
    args = Array.from(r.args as unknown[], (a, i) => str(a, `args[${i}]`))
  }

  const env: Record<string, string> = {}
  if (r.env !== undefined && r.env !== null) {
    if (typeof r.env !== 'object' || Array.isArray(r.env)) throw invalid('env', 'must be an object of strings')
    for (const [k, val] of Object.entries(r.env)) {
      if (k === '' || k.includes('=') || k.includes('\0'))
        throw invalid('env', `has an invalid name ${JSON.stringify(k)}`)
      env[k] = str(val, `env.${k}`)
    }
  }

  let workingDir: string | undefined
  if (r.working_dir !== undefined && r.working_dir !== null) {
    workingDir = str(r.working_dir, 'working_dir')
    if (workingDir === '') throw invalid('working_dir', 'must not be empty')
  }

  const timeoutMs = seconds(r.timeout, 'timeout', false)
  const idleTimeoutMs = seconds(r.idle_timeout, 'idle_timeout', false)
  const timeoutGraceMs = seconds(r.timeout_grace, 'timeout_grace', true) ?? 0

  const memoryLimit =
    r.memory_limit === undefined || r.memory_limit === null
      ? undefined
      : parseMemoryLimit(r.memory_limit as number | string)
  const start = kind === 'start'
  return {
    command,
    args,
    env,
    workingDir,
    user: user(r.user),
    timeoutMs,
    memoryLimit,
    pidsLimit: r.pids_limit === undefined || r.pids_limit === null ? undefined : parsePidsLimit(r.pids_limit),
    cpuLimit: r.cpu_limit === undefined || r.cpu_limit === null ? undefined : parseCpuLimit(r.cpu_limit),
    stdin: start ? oneOf(r.stdin_mode, 'stdin_mode', ['closed', 'pipe'] as const, 'closed') : 'closed',
    stdout: start ? oneOf(r.stdout_mode, 'stdout_mode', ['capture', 'discard'] as const, 'capture') : 'capture',
    // Merging is an output format, not a stdio choice: `run` takes it too.
    stderr:
      r.stderr_mode === 'stdout'
        ? 'stdout'
        : start
          ? oneOf(r.stderr_mode, 'stderr_mode', ['capture', 'discard', 'stdout'] as const, 'capture')
          : 'capture',
    idleTimeoutMs,
    timeoutGraceMs,
    encoding: oneOf(r.output_encoding, 'output_encoding', ['utf8', 'base64'] as const, 'utf8'),
    maxOutputBytes: kind === 'run' ? maxOutput(r.max_output_bytes) : undefined,
  }
}
