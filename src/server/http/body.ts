/**
 * Request bodies with hard size limits, and the JSON/empty responses of the API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ErrorResponse } from '../../errors.js'
import { HttpError } from './errors.js'

/** Default limit of a JSON request body (docs/protocol.md "Endpoints"). */
export const DEFAULT_MAX_JSON_BYTES = 1024 * 1024
/** Default limit of a stdin write (docs/protocol.md "Endpoints"). */
export const DEFAULT_MAX_STDIN_BYTES = 16 * 1024 * 1024

/**
 * Reads the whole body, failing with 413 `PAYLOAD_TOO_LARGE` as soon as it is known to
 * exceed `limit` bytes: at once from `Content-Length`, or while reading a chunked body,
 * so that an oversized upload is never held in memory.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) {
    // Nothing read: let the rest flow to nowhere while the 413 goes out (the connection
    // is closed after it, see sendError).
    req.resume()
    return Promise.reject(tooLarge(limit))
  }
  // Plain listeners rather than `for await`: leaving an async iteration early destroys
  // the request, and with it the socket the 413 must still be written to.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (err: Error | null): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', done)
      req.off('close', onClose)
      if (err === null) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size))
      else reject(err)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) {
        done(tooLarge(limit))
        req.resume()
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => done(null)
    const onClose = (): void => done(clientGone())
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', done)
    req.on('close', onClose)
  })
}

/**
 * Reads a JSON object body. Malformed JSON or anything but an object (an array, a
 * string, `null`) is 400 `INVALID_REQUEST`.
 */
export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const raw = await readBody(req, limit)
  let value: unknown
  try {
    value = JSON.parse(raw.toString('utf8'))
  } catch {
    throw new HttpError('INVALID_REQUEST', 'Request body is not valid JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError('INVALID_REQUEST', 'Request body must be a JSON object')
  }
  return value as Record<string, unknown>
}

/** Sends `body` as JSON with `status`. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  })
  res.end(text)
}

/** Sends a bodiless status such as 204. */
export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status)
  res.end()
}

/**
 * Sends an error response. After a 413 the unread rest of the body is still on the
 * socket, so the connection is closed rather than reused.
 */
export function sendError(res: ServerResponse, error: ErrorResponse): void {
  const headers: Record<string, string> = { ...error.headers }
  if (error.body.code === 'PAYLOAD_TOO_LARGE') headers.Connection = 'close'
  sendJson(res, error.status, error.body, headers)
}

/** The client went away before its request was complete: nobody is left to answer. */
export function clientGone(): Error {
  return Object.assign(new Error('Client closed the connection while sending the body'), { code: 'ECONNRESET' })
}

function tooLarge(limit: number): HttpError {
  return new HttpError('PAYLOAD_TOO_LARGE', `Request body exceeds ${limit} bytes`)
}
