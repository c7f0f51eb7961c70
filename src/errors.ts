/**
 * Errors of sandproc's own making (system errors come from the addon with the same
 * shape), and the error model of the wire (docs/errors.md): every failure is a status
 * plus `{"error": "human message", "code": "MACHINE_CODE"}`. The server answers with it
 * (src/server/http/errors.ts) and `sandproc run --json` prints it.
 */

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

/** Machine codes of the HTTP API (docs/errors.md). */
export type ErrorCode =
  | 'INVALID_REQUEST'
  | 'USER_NOT_FOUND'
  | 'STDIN_NOT_WRITABLE'
  | 'PROCESS_NOT_RUNNING'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'SPAWN_FAILED'
  | 'TOO_MANY_PROCESSES'
  | 'TOO_MANY_SESSIONS'
  | 'TOO_MANY_OPEN_FILES'
  | 'INTERNAL_ERROR'
  | 'HEADERS_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'NAME_IN_USE'
  | 'NOT_MANAGED'
  | 'IDEMPOTENCY_CONFLICT'
  | 'STDIN_QUEUE_FULL'
  | 'EXPECTATION_FAILED'
  | 'FREEZE_UNAVAILABLE'

/** The JSON body of an error response. `errno` and `syscall` come with `SPAWN_FAILED` and `TOO_MANY_OPEN_FILES` only. */
export interface ErrorBody {
  error: string
  code: ErrorCode
  errno?: string
  syscall?: string
}

/** The HTTP status of each code. */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400,
  USER_NOT_FOUND: 400,
  STDIN_NOT_WRITABLE: 400,
  PROCESS_NOT_RUNNING: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  SPAWN_FAILED: 422,
  TOO_MANY_PROCESSES: 429,
  TOO_MANY_SESSIONS: 429,
  TOO_MANY_OPEN_FILES: 429,
  INTERNAL_ERROR: 500,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  NAME_IN_USE: 409,
  NOT_MANAGED: 400,
  IDEMPOTENCY_CONFLICT: 409,
  STDIN_QUEUE_FULL: 429,
  EXPECTATION_FAILED: 417,
  FREEZE_UNAVAILABLE: 422,
}

/** Status, body and headers of the response that reports `err`. */
export interface ErrorResponse {
  status: number
  body: ErrorBody
  headers: Readonly<Record<string, string>>
}

/**
 * The response for a process that could not be started (its `started` promise rejected):
 * 400 `USER_NOT_FOUND` for an unknown user, 400 `INVALID_REQUEST` for a request the
 * supervisor refused, 429 `TOO_MANY_OPEN_FILES` when the daemon's fds ran out (`EMFILE`,
 * or the system's, `ENFILE`): a capacity, as the process cap is (docs/deploying.md);
 * otherwise 422 `SPAWN_FAILED`. Both carry the system error's `code` as `errno` and its
 * `syscall` (`execve`, `chdir`, `setuid`, `pipe2`, ...).
 */
export function spawnErrorResponse(err: unknown): ErrorResponse {
  const code = errorCode(err)
  if (code === 'USER_NOT_FOUND' || code === 'INVALID_REQUEST') {
    return { status: 400, body: { error: errorMessage(err), code }, headers: {} }
  }
  const outOfFds = code === 'EMFILE' || code === 'ENFILE'
  const body: ErrorBody = outOfFds
    ? { error: `Out of file descriptors (${code}): no room for another process now`, code: 'TOO_MANY_OPEN_FILES' }
    : { error: errorMessage(err), code: 'SPAWN_FAILED' }
  if (code !== undefined) body.errno = code
  const syscall = stringField(err, 'syscall')
  if (syscall !== undefined) body.syscall = syscall
  return { status: ERROR_STATUS[body.code], body, headers: {} }
}

/** The string `code` of a Node-style error, if it has one. */
export function errorCode(err: unknown): string | undefined {
  return stringField(err, 'code')
}

/** The message of an Error, or the thing itself as text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function stringField(err: unknown, key: string): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const value: unknown = Reflect.get(err, key)
  return typeof value === 'string' ? value : undefined
}
