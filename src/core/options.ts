/**
 * The options of a {@link Supervisor}, documented where they are declared, and their
 * validation: a bad option throws a TypeError naming it before anything is started.
 */
import path from 'node:path'

import { parseCpuLimit, parseMemoryLimit, parsePidsLimit, type CgroupOptions } from '../cgroup/index.js'
import { invalid } from '../errors.js'
import type { NativeBinding } from '../native.js'

export interface SupervisorOptions {
  /** Base environment of every child (default: this process's environment at construction). */
  env?: Record<string, string | undefined>
  /** Base working directory (default: process.cwd()). */
  cwd?: string
  /** Longest output line in bytes before it is split (default 64 KiB). */
  lineLimit?: number
  /** Retained output per stream of a `start`ed process, in bytes (default 8 MiB): the latest lines. */
  retainBytes?: number
  /**
   * The first output of each stream kept besides the latest (`--retain-head`, default
   * 1 MiB): a long output keeps both ends, and the gap is counted (docs/endings.md).
   */
  retainHeadBytes?: number
  /** Exited processes kept for get/list (default 1024), oldest out first. */
  maxExited?: number
  /**
   * Retained output of all exited processes together, in the unit of `retainBytes`
   * (default 256 MiB). Past it the oldest exited processes lose their output first
   * (their snapshots then count it as dropped); they stay listed.
   */
  retainTotalBytes?: number
  /** close(): milliseconds between SIGTERM and SIGKILL (default 5000). */
  killGrace?: number
  /** After the main process exits, how long idle pipes are waited for (default 2000 ms). */
  drainGrace?: number
  /** Default memory limit of every process (bytes or "256M"); needs a memory cgroup. */
  memoryLimit?: number | string
  /** Default `pids_limit` of every process (tasks of its tree, integer >= 1); needs the pids controller. */
  pidsLimit?: number
  /** Default `cpu_limit` of every process (CPUs, e.g. 0.5); needs the cpu controller. */
  cpuLimit?: number
  /** F_SETPIPE_SZ for stdout/stderr pipes in bytes; 0 keeps the kernel's 64 KiB. */
  pipeSize?: number
  /**
   * Per-process memory cgroups: `false` turns them off (no OOM detection, no
   * memory_limit); an object sets where they go (`parent`, default `<own memory
   * cgroup>/sandproc`). Default: detected at construction.
   */
  cgroup?: false | CgroupOptions
  /**
   * cgroup v2 with a memory limit: when the OOM killer strikes, kill the whole cgroup
   * together (`memory.oom.group=1`, default true). With it, a shell whose child hits the
   * limit dies too and is reported `oom_killed`; without it the shell lives on and the
   * kill shows only in `oom_kills`. v1 has no group kill.
   */
  oomGroup?: boolean
  /**
   * A watchdog process that kills what the supervisor's processes left behind if the
   * supervisor itself is killed (default true).
   */
  watchdog?: boolean
  /**
   * The supervisor may hand its processes to a new program in the same pid
   * (`sup.handover()`, docs/upgrade.md). Every spawn then runs on the JS thread (bursts
   * are not spread over the spawner threads). Default false.
   */
  handover?: boolean
  /** The addon; replaceable for tests of pure logic. */
  binding?: NativeBinding
}

/** The options with their defaults applied and checked. */
export interface Settings {
  env: Record<string, string>
  cwd: string
  lineLimit: number
  retainBytes: number
  retainHeadBytes: number
  retainTotalBytes: number
  maxExited: number
  killGrace: number
  drainGrace: number
  memoryLimit: number | undefined
  pidsLimit: number | undefined
  cpuLimit: number | undefined
  pipeSize: number
  oomGroup: boolean
  handover: boolean
}

export function resolveOptions(opts: SupervisorOptions): Settings {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(opts.env ?? process.env)) if (v !== undefined) env[k] = v
  const lineLimit = nonNegative(opts.lineLimit, 'lineLimit', 65536)
  // Room for one UTF-8 character; checked here, before any child exists.
  if (lineLimit < 4) throw invalid('lineLimit', 'must be at least 4')
  return {
    env,
    cwd: path.resolve(opts.cwd ?? process.cwd()),
    lineLimit,
    retainBytes: nonNegative(opts.retainBytes, 'retainBytes', 8 * 1024 * 1024),
    retainHeadBytes: nonNegative(opts.retainHeadBytes, 'retainHeadBytes', 1024 * 1024),
    retainTotalBytes: nonNegative(opts.retainTotalBytes, 'retainTotalBytes', 256 * 1024 * 1024),
    maxExited: nonNegative(opts.maxExited, 'maxExited', 1024),
    killGrace: millis(opts.killGrace, 'killGrace', 5000),
    drainGrace: millis(opts.drainGrace, 'drainGrace', 2000),
    memoryLimit: opts.memoryLimit === undefined ? undefined : parseMemoryLimit(opts.memoryLimit),
    pidsLimit: opts.pidsLimit === undefined ? undefined : parsePidsLimit(opts.pidsLimit, 'pidsLimit'),
    cpuLimit: opts.cpuLimit === undefined ? undefined : parseCpuLimit(opts.cpuLimit, 'cpuLimit'),
    pipeSize: nonNegative(opts.pipeSize, 'pipeSize', 0),
    oomGroup: opts.oomGroup ?? true,
    handover: opts.handover ?? false,
  }
}

/** "KEY=value" entries for execve. */
export function envp(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`)
}

function nonNegative(v: number | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback
  if (!Number.isSafeInteger(v) || v < 0) throw invalid(name, 'must be a non-negative integer')
  return v
}

// setTimeout turns anything above 2^31-1 ms into 1 ms: a huge grace would mean none.
function millis(v: number | undefined, name: string, fallback: number): number {
  const ms = nonNegative(v, name, fallback)
  if (ms > 0x7fffffff) throw invalid(name, 'must be at most 2147483647 ms')
  return ms
}
