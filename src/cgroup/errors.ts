/**
 * Errors of the cgroup layer in Node's SystemError shape (`code`, `errno`, `syscall`,
 * `path`), so that a spawn failing on its cgroup reads like any other spawn failure
 * (docs/errors.md: `syscall: "cgroup"`). Callers branch on `code`, never on the
 * message.
 */
import { constants } from 'node:os'

/** A failure of a cgroup operation. `syscall` is always `'cgroup'`; `cause` is the fs error. */
export interface CgroupError extends Error {
  code: string
  /** Negative, as Node reports it. */
  errno: number
  syscall: 'cgroup'
  path?: string
}

/** Node's fs errors carry `code`, `errno` and `path`; anything else has at least a message. */
function codeOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code
  return typeof code === 'string' ? code : 'EIO'
}

/** `-errno` for a code this platform knows, else -EIO (never 0: callers test it). */
export function errnoOf(code: string): number {
  const table = constants.errno as Record<string, number | undefined>
  return -(table[code] ?? constants.errno.EIO)
}

/** Builds a CgroupError. `what` says which step failed, e.g. `write memory.max`. */
export function cgroupError(code: string, what: string, path?: string, cause?: unknown): CgroupError {
  const where = path === undefined ? '' : ` '${path}'`
  const err = new Error(`${code}: cgroup ${what}${where}`, { cause }) as CgroupError
  err.code = code
  err.errno = errnoOf(code)
  err.syscall = 'cgroup'
  if (path !== undefined) err.path = path
  return err
}

/** Wraps an fs error thrown while doing `what` on `path`. */
export function wrapFsError(err: unknown, what: string, path: string): CgroupError {
  return cgroupError(codeOf(err), what, path, err)
}

/** True when `err` is an fs error with one of `codes`. */
export function hasCode(err: unknown, ...codes: string[]): boolean {
  return codes.includes(codeOf(err))
}
