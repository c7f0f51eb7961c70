/**
 * The pids controller of one process's cgroup (docs/cgroups.md): `pids_limit`, its
 * file `pids.max`, and what it did. `pids.max` counts tasks, so the processes and the
 * threads of the whole tree; a fork or clone past it fails with EAGAIN and the refusal
 * is counted as `max` in `pids.events` (v1 and v2 spell both files the same way).
 */
import * as path from 'node:path'
import { invalid } from '../errors.js'
import { wrapFsError } from './errors.js'
import { keyedValue, readOptionalSync, singleValue, writeSync } from './fs.js'

/** The kernel refuses `pids.max` at or above PIDS_MAX (PID_MAX_LIMIT + 1 = 2^22 + 1). */
export const PIDS_LIMIT_MAX = 2 ** 22

/** What the pids controller saw, read after the reap. */
export interface PidsCounters {
  /** Most tasks at once (`pids.peak`, about 6.13 for v1 and v2); null when the kernel lacks it. */
  peak: number | null
  /** Forks the limit refused (`max` of `pids.events`); null when unreadable. */
  limitHits: number | null
}

/**
 * Checks a `pids_limit` (request field or supervisor default): an integer from 1 to 2^22.
 * @throws TypeError with `code: 'INVALID_REQUEST'` naming `field`.
 */
export function parsePidsLimit(value: unknown, field = 'pids_limit'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > PIDS_LIMIT_MAX) {
    throw invalid(field, `must be an integer from 1 to ${PIDS_LIMIT_MAX}`)
  }
  return value
}

/** Writes `pids.max` of `dir`. @throws CgroupError (`syscall: 'cgroup'`). */
export function writePidsLimit(dir: string, limit: number): void {
  const file = path.join(dir, 'pids.max')
  try {
    writeSync(file, String(limit))
  } catch (err) {
    throw wrapFsError(err, 'write pids.max', file)
  }
}

/** Never throws: what cannot be read is null. The cgroup is fresh, so no baseline. */
export function readPidsCounters(dir: string): PidsCounters {
  const read = (name: string): string | null => {
    try {
      return readOptionalSync(path.join(dir, name))
    } catch {
      return null
    }
  }
  const events = read('pids.events')
  return { peak: singleValue(read('pids.peak')), limitHits: events === null ? null : keyedValue(events, 'max') }
}
