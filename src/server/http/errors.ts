/**
 * The error model of the HTTP API (docs/protocol.md "Endpoints"): every failure is a
 * status plus `{"error": "human message", "code": "MACHINE_CODE"}`. Exported so that a
 * server built on another framework answers with the same bodies.
 */
import { STATUS_CODES } from 'node:http'

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

const STATUS: Record<ErrorCode, number> = {
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

/** An error that already knows its response. Route handlers throw it. */
export class HttpError extends Error {
  readonly status: number
  readonly code: ErrorCode
  /** Extra response headers, such as `Allow` for 405. */
  readonly headers: Readonly<Record<string, string>>

  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'HttpError'
    this.code = code
    this.status = STATUS[code]
    this.headers = headers
  }
}

/** Status, body and headers of the response that reports `err`. */
export interface ErrorResponse {
  status: number
  body: ErrorBody
  headers: Readonly<Record<string, string>>
}

/**
 * Maps anything a handler can throw to its response: an {@link HttpError} as it is, the
 * supervisor's request validation (`code: 'INVALID_REQUEST'`) and the codes it gives
 * `USER_NOT_FOUND` / `STDIN_NOT_WRITABLE` to their 400s; everything else is a 500 whose
 * body does not leak the internal message.
 */
export function toErrorResponse(err: unknown): ErrorResponse {
  if (err instanceof HttpError) {
    return { status: err.status, body: { error: err.message, code: err.code }, headers: err.headers }
  }
  const code = errorCode(err)
  if (code === 'INVALID_REQUEST' || code === 'USER_NOT_FOUND' || code === 'STDIN_NOT_WRITABLE') {
    return { status: 400, body: { error: errorMessage(err), code }, headers: {} }
  }
  if (code === 'NAME_IN_USE') return { status: 409, body: { error: errorMessage(err), code }, headers: {} }
  return {
    status: 500,
    body: { error: 'Internal server error', code: 'INTERNAL_ERROR' },
    headers: {},
  }
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
  if (code === 'USER_NOT_FOUND' || code === 'INVALID_REQUEST') return toErrorResponse(err)
  const outOfFds = code === 'EMFILE' || code === 'ENFILE'
  const body: ErrorBody = outOfFds
    ? { error: `Out of file descriptors (${code}): no room for another process now`, code: 'TOO_MANY_OPEN_FILES' }
    : { error: errorMessage(err), code: 'SPAWN_FAILED' }
  if (code !== undefined) body.errno = code
  const syscall = stringField(err, 'syscall')
  if (syscall !== undefined) body.syscall = syscall
  return { status: STATUS[body.code], body, headers: {} }
}

/** The string `code` of a Node-style error, if it has one. */
export function errorCode(err: unknown): string | undefined {
  return stringField(err, 'code')
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function stringField(err: unknown, key: string): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const value: unknown = Reflect.get(err, key)
  return typeof value === 'string' ? value : undefined
}

/** The raw bytes of the JSON error answer to a request the HTTP parser refused. */
export function clientErrorResponse(err: NodeJS.ErrnoException): string {
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'HEADERS_TOO_LARGE', 'Request line and headers exceed the size limit']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'REQUEST_TIMEOUT', 'Request not received in time']
        : [400, 'INVALID_REQUEST', 'Malformed HTTP request']
  const body = JSON.stringify({ error: message, code })
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  )
}
