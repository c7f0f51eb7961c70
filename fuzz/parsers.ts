/**
 * The fuzzing pass over the parsers that take client input apart (docs/hardening.md):
 * the PTY frame decoder, `Last-Event-ID`, and request paths with their queries.
 */
import fc from 'fast-check'

import { parseFrame } from '../src/pty/wire.js'
import { matchRoute, pathOf } from '../src/server/http/router.js'
import { HttpError } from '../src/server/http/errors.js'
import { lastEventId } from '../src/server/sse/routes.js'
import { target } from './arbitraries.js'

/** The PTY frame decoder: any bytes give a frame or null, and a frame is one the spec allows. */
export const frameProperty = fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
  const frame = parseFrame(Buffer.from(bytes))
  if (frame === null) return
  if (frame.op === 0x01 && !(frame.cols >= 1 && frame.cols <= 1000 && frame.rows >= 1 && frame.rows <= 500)) {
    throw new Error(`resize out of range: ${JSON.stringify(frame)}`)
  }
  if (frame.op === 0x02 && bytes.length !== 1) throw new Error('ready frame with a payload')
})

/** `Last-Event-ID`: a non-negative safe integer, undefined, or a 400; nothing else. */
export const lastEventIdProperty = fc.property(
  fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
    fc.constant(undefined),
  ),
  (header) => {
    let id: number | undefined
    try {
      id = lastEventId(header as string | string[] | undefined)
    } catch (err) {
      if (err instanceof HttpError && err.status === 400) return
      throw err
    }
    if (id !== undefined && !(Number.isSafeInteger(id) && id >= 0)) throw new Error(`bad id ${id}`)
  },
)

/** Path and query parsing: any target gives a path, and routing it throws nothing but an HttpError. */
export const pathProperty = fc.property(fc.oneof(target, fc.string({ maxLength: 40 })), (url) => {
  const path = pathOf(url)
  if (path.includes('?')) throw new Error(`query left in ${path}`)
  try {
    matchRoute([{ pattern: /^\/api\/v1\/processes\/([^/]+)$/, methods: { GET: 1 } }], 'GET', path)
  } catch (err) {
    if (!(err instanceof HttpError)) throw err
  }
})
