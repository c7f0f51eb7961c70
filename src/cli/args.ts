/**
 * Command-line parsing of `sandproc serve` and `sandproc run`, kept free of I/O so it can
 * be tested directly. Every `serve` option can also come from a `SANDPROC_*` variable;
 * a flag wins over the variable.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import type { RunRequest } from '../types.js'

/** A mistake on the command line: the CLI prints the message and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** Settings of `sandproc serve`. Absent limits take the library's defaults. */
export interface ServeConfig {
  host: string
  port: number
  token?: string
  allowNoAuth: boolean
  /** Serve the browser console at `/` (off with `--no-console`). */
  console: boolean
  maxProcesses?: number
  maxJsonBytes?: number
  maxStdinBytes?: number
  maxStdinQueueBytes?: number
  retainBytes?: number
  retainHeadBytes?: number
  maxExited?: number
  lineLimit?: number
  memoryLimit?: number | string
  pidsLimit?: number
  cpuLimit?: number
  killGraceMs?: number
  keepAliveMs?: number
  maxPtySessions?: number
  /** v2/v1 memory cgroup under which the per-process cgroups go (docs/deploying.md). */
  cgroupParent?: string
  /** Audit log file (`--audit-log`), appended to; reopened on SIGHUP. */
  auditLog?: string
}

/** Settings of `sandproc run`. */
export interface RunConfig {
  request: RunRequest
  json: boolean
}

type Parsed<T> = { help: true } | ({ help: false } & T)

const SERVE_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  token: { type: 'string' },
  'allow-no-auth': { type: 'boolean' },
  'no-console': { type: 'boolean' },
  'max-processes': { type: 'string' },
  'max-body': { type: 'string' },
  'max-stdin': { type: 'string' },
  'max-stdin-queue': { type: 'string' },
  retain: { type: 'string' },
  'retain-head': { type: 'string' },
  'max-exited': { type: 'string' },
  'line-limit': { type: 'string' },
  'memory-limit': { type: 'string' },
  'pids-limit': { type: 'string' },
  'cpu-limit': { type: 'string' },
  'kill-grace': { type: 'string' },
  'keep-alive': { type: 'string' },
  'max-pty-sessions': { type: 'string' },
  'cgroup-parent': { type: 'string' },
  'audit-log': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const RUN_OPTIONS = {
  user: { type: 'string' },
  cwd: { type: 'string' },
  env: { type: 'string', multiple: true },
  timeout: { type: 'string' },
  'memory-limit': { type: 'string' },
  'pids-limit': { type: 'string' },
  'cpu-limit': { type: 'string' },
  'timeout-grace': { type: 'string' },
  'idle-timeout': { type: 'string' },
  merge: { type: 'boolean' },
  'max-output': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

/** Parses the arguments after `serve`, with `env` supplying what the flags leave out. */
export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = {}): Parsed<ServeConfig> {
  const { values } = parse(argv, SERVE_OPTIONS, false)
  if (values.help === true) return { help: true }
  const pick = (flag: keyof typeof SERVE_OPTIONS, name: string): string | undefined => {
    const value = values[flag]
    if (typeof value === 'string') return value
    const fromEnv = env[`SANDPROC_${name}`]
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv
  }
  const optional = <T>(text: string | undefined, convert: (t: string) => T): T | undefined =>
    text === undefined ? undefined : convert(text)
  const memoryLimit = pick('memory-limit', 'MEMORY_LIMIT')
  return {
    help: false,
    host: pick('host', 'HOST') ?? '127.0.0.1',
    port: integer('--port', pick('port', 'PORT') ?? '9501', 0, 65535),
    token: pick('token', 'TOKEN'),
    allowNoAuth: values['allow-no-auth'] === true || truthy(env.SANDPROC_ALLOW_NO_AUTH),
    console: !(values['no-console'] === true || truthy(env.SANDPROC_NO_CONSOLE)),
    maxProcesses: optional(pick('max-processes', 'MAX_PROCESSES'), (t) => integer('--max-processes', t, 1)),
    maxJsonBytes: optional(pick('max-body', 'MAX_BODY'), (t) => size('--max-body', t)),
    maxStdinBytes: optional(pick('max-stdin', 'MAX_STDIN'), (t) => size('--max-stdin', t)),
    maxStdinQueueBytes: optional(pick('max-stdin-queue', 'MAX_STDIN_QUEUE'), (t) => size('--max-stdin-queue', t)),
    retainBytes: optional(pick('retain', 'RETAIN'), (t) => size('--retain', t)),
    retainHeadBytes: optional(pick('retain-head', 'RETAIN_HEAD'), (t) => size('--retain-head', t)),
    maxExited: optional(pick('max-exited', 'MAX_EXITED'), (t) => integer('--max-exited', t, 0)),
    lineLimit: optional(pick('line-limit', 'LINE_LIMIT'), (t) => size('--line-limit', t)),
    memoryLimit: optional(memoryLimit, memoryLimitValue),
    pidsLimit: optional(pick('pids-limit', 'PIDS_LIMIT'), (t) => integer('--pids-limit', t, 1)),
    cpuLimit: optional(pick('cpu-limit', 'CPU_LIMIT'), (t) => cpus('--cpu-limit', t)),
    killGraceMs: optional(pick('kill-grace', 'KILL_GRACE'), (t) => seconds('--kill-grace', t, true) * 1000),
    keepAliveMs: optional(pick('keep-alive', 'KEEP_ALIVE'), (t) => seconds('--keep-alive', t, true) * 1000),
    maxPtySessions: optional(pick('max-pty-sessions', 'MAX_PTY_SESSIONS'), (t) => integer('--max-pty-sessions', t, 1)),
    cgroupParent: optional(pick('cgroup-parent', 'CGROUP_PARENT'), (t) => absolute('--cgroup-parent', t)),
    auditLog: pick('audit-log', 'AUDIT_LOG'),
  }
}

/**
 * Parses the arguments after `run`. The command starts after `--`, or without `--` at
 * the first argument that is not an option, so `sandproc run ls -la` works.
 */
export function parseRunArgs(argv: string[]): Parsed<RunConfig> {
  const split = commandStart(argv)
  const { values } = parse(argv.slice(0, split.optionsEnd), RUN_OPTIONS, false)
  if (values.help === true) return { help: true }
  const [command, ...args] = argv.slice(split.commandStart)
  if (command === undefined || command === '') throw new UsageError('run: missing COMMAND')
  const request: RunRequest = { command, args }
  if (values.user !== undefined) request.user = values.user
  if (values.cwd !== undefined) request.working_dir = values.cwd
  if (values.env !== undefined) request.env = Object.fromEntries(values.env.map(envPair))
  if (values.timeout !== undefined) request.timeout = seconds('--timeout', values.timeout, false)
  if (values['memory-limit'] !== undefined) request.memory_limit = memoryLimitValue(values['memory-limit'])
  if (values['pids-limit'] !== undefined) request.pids_limit = integer('--pids-limit', values['pids-limit'], 1)
  if (values['cpu-limit'] !== undefined) request.cpu_limit = cpus('--cpu-limit', values['cpu-limit'])
  if (values['timeout-grace'] !== undefined)
    request.timeout_grace = seconds('--timeout-grace', values['timeout-grace'], true)
  if (values['idle-timeout'] !== undefined)
    request.idle_timeout = seconds('--idle-timeout', values['idle-timeout'], false)
  if (values.merge === true) request.stderr_mode = 'stdout'
  if (values['max-output'] !== undefined) request.max_output_bytes = size('--max-output', values['max-output'])
  return { help: false, request, json: values.json === true }
}

function parse<O extends ParseArgsConfig['options']>(args: string[], options: O, positionals: boolean) {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true })
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
}

function commandStart(argv: string[]): { optionsEnd: number; commandStart: number } {
  const dashes = argv.indexOf('--')
  let i = 0
  while (i < argv.length && i !== dashes && argv[i].startsWith('-') && argv[i] !== '-') {
    const name = argv[i].replace(/^--?/, '').split('=')[0]
    const spec = (RUN_OPTIONS as Record<string, { type: string } | undefined>)[name]
    i += spec?.type === 'string' && !argv[i].includes('=') ? 2 : 1
  }
  return i === dashes ? { optionsEnd: i, commandStart: i + 1 } : { optionsEnd: i, commandStart: i }
}

function envPair(text: string): [string, string] {
  const eq = text.indexOf('=')
  if (eq <= 0) throw new UsageError(`--env expects KEY=VALUE, got "${text}"`)
  return [text.slice(0, eq), text.slice(eq + 1)]
}

function integer(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN
  if (!(value >= min && value <= max)) {
    throw new UsageError(`${flag} expects an integer from ${min} to ${max}, got "${text}"`)
  }
  return value
}

function seconds(flag: string, text: string, zeroOk: boolean): number {
  const value = /^[0-9]*\.?[0-9]+$/.test(text) ? Number(text) : Number.NaN
  if (!(zeroOk ? value >= 0 : value > 0)) {
    throw new UsageError(`${flag} expects a number of seconds${zeroOk ? '' : ' above 0'}, got "${text}"`)
  }
  return value
}

/** Bytes with an optional binary K/M/G suffix. */
export function size(flag: string, text: string): number {
  const match = /^([0-9]+)([KMG]?)i?B?$/i.exec(text)
  const shift = { '': 0, K: 10, M: 20, G: 30 }[match?.[2].toUpperCase() ?? ''] ?? 0
  const value = match === null ? Number.NaN : Number(match[1]) * 2 ** shift
  if (!(value >= 1) || !Number.isSafeInteger(value)) {
    throw new UsageError(`${flag} expects a size such as 65536 or 16M, got "${text}"`)
  }
  return value
}

/** A number of CPUs such as 0.5 or 2; the supervisor checks its range. */
function cpus(flag: string, text: string): number {
  const value = /^[0-9]*\.?[0-9]+$/.test(text) ? Number(text) : Number.NaN
  if (!(value > 0)) throw new UsageError(`${flag} expects a number of CPUs such as 0.5 or 2, got "${text}"`)
  return value
}

function memoryLimitValue(text: string): number | string {
  // The supervisor parses suffixed strings itself; plain digits are sent as a number.
  return /^[0-9]+$/.test(text) ? Number(text) : text
}

function absolute(flag: string, text: string): string {
  if (!text.startsWith('/'))
    throw new UsageError(`${flag} expects an absolute cgroup directory such as /sys/fs/cgroup/sandbox, got "${text}"`)
  return text
}

function truthy(text: string | undefined): boolean {
  return text !== undefined && /^(1|true|yes|on)$/i.test(text)
}
