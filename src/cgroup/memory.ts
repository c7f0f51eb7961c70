/**
 * The `memory_limit` request field (docs/protocol.md "Requests"): bytes as a number,
 * or a string with a binary unit. Every unit is binary (`"1G"`, `"1GB"` and `"1GiB"`
 * all mean 2^30) because that is what the kernel's own `memory.max` syntax and
 * `docker --memory` mean by them.
 *
 * With it, the rest of the memory controller, which every process's cgroup has: the
 * files that set the limit, and the OOM counters read after the reap.
 */
import * as path from 'node:path'
import { invalid } from '../errors.js'
import { wrapFsError } from './errors.js'
import { keyedValue, readOrNull, writeIfPresentSync, writeSync } from './fs.js'

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }

/** Digits (a fraction allowed), an optional unit letter, an optional `i` and `B`. */
const PATTERN = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i

const bad = (detail: string): TypeError => invalid('memory_limit', detail)

/**
 * Parses a memory limit to bytes: a positive safe integer, or a string such as `"512k"`,
 * `"256M"`, `"1.5G"`, `"1GiB"`. Fractions are rounded down to whole bytes.
 *
 * @throws TypeError with `code: 'INVALID_REQUEST'` and a message naming `memory_limit`.
 */
export function parseMemoryLimit(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value <= 0) throw bad('must be a positive integer of bytes')
    return value
  }
  if (typeof value !== 'string') throw bad('must be a number of bytes or a string such as "256M"')
  const m = PATTERN.exec(value.trim())
  if (m === null) throw bad(`must look like 1048576, "512k", "256M" or "1G"; got ${JSON.stringify(value)}`)
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()])
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw bad(`is out of range: ${JSON.stringify(value)}`)
  return bytes
}

/**
 * Which files hold what. On v2 the hierarchical `memory.events` is used rather than
 * `memory.events.local`: it exists on every v2 kernel (`.local` only from 5.2), and it
 * still counts an OOM kill when the process tree makes sub-cgroups of its own.
 */
export const MEMORY_FILES = {
  v2: { events: 'memory.events', peak: 'memory.peak' },
  v1: { events: 'memory.oom_control', peak: 'memory.max_usage_in_bytes' },
} as const

/**
 * Writes the hard limit into the cgroup `dir`. v2: `memory.max`, no swap, and (with
 * `oomGroup`) the whole cgroup killed together on OOM, so no half-killed tree keeps
 * running. v1: `memory.limit_in_bytes` first, because `memsw` must stay >= it. Files a
 * kernel lacks (`memory.swap.max` without swap, `memsw` without swap accounting,
 * `memory.oom.group` before 4.19) are skipped.
 */
export function writeMemoryLimit(dir: string, mode: 'v1' | 'v2', bytes: number, oomGroup: boolean): void {
  const files: [string, string, boolean][] =
    mode === 'v2'
      ? [
          ['memory.max', String(bytes), true],
          ['memory.swap.max', '0', false],
        ]
      : [
          ['memory.limit_in_bytes', String(bytes), true],
          ['memory.memsw.limit_in_bytes', String(bytes), false],
        ]
  if (mode === 'v2' && oomGroup) files.push(['memory.oom.group', '1', false])
  for (const [name, value, required] of files) {
    const file = path.join(dir, name)
    try {
      if (required) writeSync(file, value)
      else writeIfPresentSync(file, value)
    } catch (err) {
      throw wrapFsError(err, `write ${name}`, file)
    }
  }
}

/**
 * Processes killed by the OOM killer so far, from the text of the events file. On v1
 * that is `oom_kill`. On v2 a group kill (`memory.oom.group`) counts its victim twice in
 * `oom_kill`, once as the chosen victim and again in the sweep over the group (kernel
 * 6.1: one hog alone gives `oom_kill 2`, a shell and its hog `oom_kill 3`, each with
 * `oom_group_kill 1`), so every group kill is subtracted once.
 */
export function oomKillsIn(text: string | null, mode: 'v1' | 'v2'): number | null {
  const kills = text === null ? null : keyedValue(text, 'oom_kill')
  if (kills === null || mode === 'v1') return kills
  return kills - (keyedValue(text ?? '', 'oom_group_kill') ?? 0)
}

/** {@link oomKillsIn} of the cgroup `dir`, read now. */
export function readOomKills(dir: string, mode: 'v1' | 'v2'): number | null {
  return oomKillsIn(readOrNull(path.join(dir, MEMORY_FILES[mode].events)), mode)
}
