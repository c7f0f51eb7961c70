/**
 * The HTTP side of the error model (docs/protocol.md "Endpoints"; the codes, bodies and
 * the spawn failure's answer are in src/errors.ts, which the CLI shares): the error a
 * handler throws, what anything thrown becomes, and the parser's refusals. Exported so
 * that a server built on another framework answers with the same bodies.
 */
import { STATUS_CODES } from 'node:http'

import { ERROR_STATUS, errorCode, errorMessage, type ErrorCode, type ErrorResponse } from '../../errors.js'

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
    this.status = ERROR_STATUS[code]
    this.headers = headers
  }
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
