/**
 * Small file helpers for cgroupfs. Interface files are opened without `O_CREAT`
 * (cgroupfs cannot create files, and a missing file must read as "this kernel lacks it",
 * not be invented) and with `O_TRUNC` (ignored by cgroupfs, but it keeps a fixture
 * tree's plain files equal to the last value written, as the kernel's would be).
 */
import * as fs from 'node:fs'
import { hasCode } from './errors.js'

const WRITE = fs.constants.O_WRONLY | fs.constants.O_TRUNC

/** Writes `value` to an existing interface file in one `write(2)`, as the kernel expects. */
export function writeSync(path: string, value: string): void {
  const fd = fs.openSync(path, WRITE)
  try {
    fs.writeSync(fd, value)
  } finally {
    fs.closeSync(fd)
  }
}

/** Like {@link writeSync}, but a missing file (a feature this kernel lacks) is skipped. */
export function writeIfPresentSync(path: string, value: string): boolean {
  try {
    writeSync(path, value)
    return true
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return false
    throw err
  }
}

/** The file's text, or null when it does not exist. */
export function readOptionalSync(path: string): string | null {
  try {
    return fs.readFileSync(path, 'utf8')
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return null
    throw err
  }
}

/** The file's text; null when it is missing or unreadable (a counter that cannot be read is null). */
export function readOrNull(path: string): string | null {
  try {
    return readOptionalSync(path)
  } catch {
    return null
  }
}

/** The words of a space-separated file (`cgroup.controllers`, `cgroup.subtree_control`); none when unreadable. */
export function words(path: string): string[] {
  return (readOrNull(path) ?? '').split(/\s+/).filter(Boolean)
}

/** The value of `key` in a flat-keyed file (`memory.events`, `memory.oom_control`), or null. */
export function keyedValue(text: string, key: string): number | null {
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/)
    if (k === key && v !== undefined && /^\d+$/.test(v)) return Number(v)
  }
  return null
}

/** A single number file (`memory.peak`); null for anything else (`max`, empty). */
export function singleValue(text: string | null): number | null {
  const t = text?.trim()
  return t !== undefined && /^\d+$/.test(t) ? Number(t) : null
}

/** The pids listed in a `cgroup.procs` text. */
export function pidList(text: string): number[] {
  return text
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number)
}

/** Resolves after `ms` milliseconds; used between bounded retries. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
