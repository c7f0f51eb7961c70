/**
 * What the fuzzing pass generates (docs/hardening.md): requests shaped like the API's with
 * hostile parts mixed in, and client frames of the PTY socket.
 */
import fc from 'fast-check'

export interface FuzzRequest {
  method: string
  target: string
  headers: Array<[string, string]>
  body: Buffer
}

const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'PRI', 'get', 'FOO']
const SEGMENTS = [
  'api',
  'v1',
  'processes',
  'run',
  'health',
  'info',
  'pty',
  'ws',
  'stdin',
  'close',
  'stdout',
  'stderr',
  'output',
  'follow',
  'signal',
  'restart',
  'resize',
  'metrics',
  '1',
  '0',
  '4294967296',
  '99999999999999999999',
  '.',
  '..',
  '%ZZ',
  '%',
  '%00',
  '%2F',
  '%2e%2e',
  '%E0%A4%A',
  'web',
  '',
  'index.html',
  'app.js',
]
const HEADER_NAMES = [
  'Content-Type',
  'Upgrade',
  'Connection',
  'Last-Event-ID',
  'X-PTY-Token',
  'Transfer-Encoding',
  'Accept',
  'Idempotency-Key',
  'traceparent',
  'Expect',
  'Sec-WebSocket-Key',
  'Sec-WebSocket-Version',
  'Origin',
  'Cookie',
]
const COMMANDS = ['true', 'echo', 'cat', 'sh', '/bin/false', 'no-such-program', '', '.', '/']

/** A header value: visible ASCII and spaces (a CR or LF would make it another request). */
const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.constantFrom(
    'websocket',
    'h2c',
    'Upgrade',
    'close',
    'keep-alive',
    'chunked',
    '100-continue',
    '-1',
    '0',
    '18446744073709551616',
    'application/json',
  ),
)

const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SEGMENTS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9%._~!$&'()*+,;=:@-]{0,12}$/) },
)

const query = fc.oneof(
  fc.constant(''),
  fc.stringMatching(/^\?[A-Za-z0-9%=&._~+-]{0,30}$/),
  fc.constantFrom('?token=', '?token=%ZZ', '?token=a&token=b', '?=', '?&&', '?%'),
)

/** A request target: API path pieces, escapes, dot segments, queries, odd forms. */
export const target = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(fc.array(segment, { maxLength: 7 }), query).map(([segs, q]) => `/${segs.join('/')}${q}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '//',
      '*',
      '/',
      'http://x/api/v1/health',
      '///api//v1',
      '/api/v1/pty/%ZZ/ws',
      '/?',
      '/#',
    ),
  },
)

/** JSON bodies built from the request fields of the API, with wrong types mixed in. */
const jsonValue = fc.oneof(
  fc.constantFrom(...COMMANDS),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxKeys: 3 }),
  fc.string({ maxLength: 20 }),
)
const FIELDS = [
  'command',
  'args',
  'env',
  'working_dir',
  'user',
  'timeout',
  'stdin_mode',
  'stdout_mode',
  'stderr_mode',
  'name',
  'restart',
  'health_check',
  'signal',
  'rows',
  'cols',
  'memory_limit',
  'idle_timeout',
  'output_encoding',
]
const jsonBody = fc.dictionary(fc.constantFrom(...FIELDS), jsonValue, { maxKeys: 6 }).map((o) => {
  // Mostly programs that end at once, so that the fuzzing does not pile up processes.
  if (typeof o.command !== 'string') return o
  const { timeout: _t, ...rest } = o
  return { ...rest, timeout: 2 }
})

const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 4, arbitrary: jsonBody.map((o) => Buffer.from(JSON.stringify(o))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 50 }).map((s) => Buffer.from(s)) },
)

/** An arbitrary request: mostly shaped like the API's, with hostile parts mixed in. */
export function requestArbitrary(): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    method: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...METHODS) },
      { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,8}$/) },
    ),
    target,
    headers: fc.array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...HEADER_NAMES), fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/)),
        headerValue,
      ),
      { maxLength: 5 },
    ),
    body,
  })
}

/**
 * Client frames for a live PTY socket: any opcode and length, except that terminal input
 * (opcode 0) is printable text, so that no ^C, ^D or ^S ends or stops the program: what
 * is fuzzed is the server's decoding, not the terminal's line discipline.
 */
export const clientFrames = fc.array(
  fc.oneof(
    fc.uint8Array({ maxLength: 40 }).filter((a) => a.length === 0 || a[0] !== 0),
    fc
      .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 })
      .map((s) => Uint8Array.from(Buffer.from(`\0${s}`, 'latin1'))),
    fc
      .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
      .map(([c, r]) => Uint8Array.from([1, c >> 8, c & 255, r >> 8, r & 255])),
    fc.constant(Uint8Array.from([2])),
  ),
  { maxLength: 8 },
)
