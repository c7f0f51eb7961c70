/** Errors of sandproc's own making; system errors come from the addon with the same shape. */

/** An Error carrying a machine-readable `code`, as Node's errors do. */
export interface CodedError extends Error {
  code: string
  errno?: number
  syscall?: string
  path?: string
}

/** A bad request field: a TypeError naming the field, with code INVALID_REQUEST. */
export function invalid(field: string, why: string): TypeError & CodedError {
  const err = new TypeError(`${field} ${why}`) as TypeError & CodedError
  err.code = 'INVALID_REQUEST'
  return err
}

/** Any Error with a string `code`. */
export function coded(message: string, code: string, extra?: Partial<CodedError>): CodedError {
  return Object.assign(new Error(message), { code }, extra)
}
