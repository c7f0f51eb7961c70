/**
 * The cpu controller of one process's cgroup (docs/cgroups.md): `cpu_limit`, a number
 * of CPUs, becomes a CFS bandwidth quota over a 100 ms period (`cpu.max` on v2,
 * `cpu.cfs_quota_us` over `cpu.cfs_period_us` on v1), and the time the tree spent
 * throttled comes back from `cpu.stat`.
 */
import * as path from 'node:path'
import { invalid } from '../errors.js'
import { wrapFsError } from './errors.js'
import { keyedValue, readOptionalSync, writeSync } from './fs.js'

/** The CFS period, µs: runc's and systemd's default. */
export const CPU_PERIOD_US = 100_000

/** The kernel's smallest quota is 1 ms, so 0.01 CPU over a 100 ms period. */
export const CPU_LIMIT_MIN = 0.01

/** Far above any machine; keeps the quota well inside the kernel's bound (about 2^44 ns). */
export const CPU_LIMIT_MAX = 4096

/**
 * Checks a `cpu_limit` (request field or supervisor default): a number of CPUs from
 * 0.01 to 4096, fractions allowed (`0.5`, `2`).
 * @throws TypeError with `code: 'INVALID_REQUEST'` naming `field`.
 */
export function parseCpuLimit(value: unknown, field = 'cpu_limit'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < CPU_LIMIT_MIN || value > CPU_LIMIT_MAX) {
    throw invalid(field, `must be a number of CPUs from ${CPU_LIMIT_MIN} to ${CPU_LIMIT_MAX}`)
  }
  return value
}

/** The quota in µs per {@link CPU_PERIOD_US} for `cpus` CPUs. */
export function quotaUs(cpus: number): number {
  return Math.max(1000, Math.round(cpus * CPU_PERIOD_US))
}

/**
 * Writes the quota of `dir`. v1: the period first, since the kernel checks the quota
 * against the period in place (a fresh cgroup already has 100 ms; written anyway for a
 * parent that set another). @throws CgroupError (`syscall: 'cgroup'`).
 */
export function writeCpuLimit(dir: string, mode: 'v1' | 'v2', cpus: number): void {
  const files: [string, string][] =
    mode === 'v2'
      ? [['cpu.max', `${quotaUs(cpus)} ${CPU_PERIOD_US}`]]
      : [
          ['cpu.cfs_period_us', String(CPU_PERIOD_US)],
          ['cpu.cfs_quota_us', String(quotaUs(cpus))],
        ]
  for (const [name, value] of files) {
    const file = path.join(dir, name)
    try {
      writeSync(file, value)
    } catch (err) {
      throw wrapFsError(err, `write ${name}`, file)
    }
  }
}

/**
 * Milliseconds the cgroup spent throttled (`throttled_usec` on v2, `throttled_time` in
 * ns on v1); null when unreadable. Never throws.
 */
export function readThrottledMs(dir: string, mode: 'v1' | 'v2'): number | null {
  let text: string | null
  try {
    text = readOptionalSync(path.join(dir, 'cpu.stat'))
  } catch {
    return null
  }
  if (text === null) return null
  const v = keyedValue(text, mode === 'v2' ? 'throttled_usec' : 'throttled_time')
  // To the µs, as wall_ms is given.
  return v === null ? null : mode === 'v2' ? v / 1e3 : Math.round(v / 1e3) / 1e3
}
