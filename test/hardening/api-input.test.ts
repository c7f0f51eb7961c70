/**
 * Malformed requests to every endpoint (docs/hardening.md), table-driven: invalid and
 * truncated JSON, wrong types for every field, huge strings, NUL bytes, bad numbers,
 * bad signals, bad and unknown users, missing and oversized bodies, bodies that are
 * not JSON, path traversal in {pid}, long URLs and headers, and requests the HTTP
 * parser itself refuses. Each must get its 4xx (or the protocol's 422 where the
 * request is well formed but the program cannot start) with a JSON `{error, code}`
 * body, and the server must answer a health check right after, with the processes it
 * runs untouched.
 */
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/index.js'
import type { SupervisedProcess } from '../../src/core/process.js'
import { createServer } from '../../src/server/server.js'
import { httpRequest, rawRequest, type RawOptions } from '../fixtures/hardening/raw-http.js'

const TOKEN = 'hardening-api-input-token'
const API = '/api/v1'

let sup: Supervisor
let server: ReturnType<typeof createServer>
let port = 0
/** Running, stdin pipe. */
let piped: SupervisedProcess
/** Running, stdin closed. */
let closed: SupervisedProcess
/** Exited. */
let gone: SupervisedProcess
/** Running, ignores the signals a wrongly accepted signal request could send. */
let victim: SupervisedProcess

beforeAll(async () => {
  sup = new Supervisor()
  server = createServer({ supervisor: sup, token: TOKEN, onError: () => undefined })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
  piped = sup.start({ command: 'cat', stdin_mode: 'pipe' })
  closed = sup.start({ command: 'sleep', args: ['1000'] })
  gone = sup.start({ command: 'sh', args: ['-c', 'exit 4'] })
  victim = sup.start({ command: 'sh', args: ['-c', 'trap "" HUP INT TERM USR1 USR2; echo ready; exec sleep 1000'] })
  const ready = new Promise<void>((resolve) => victim.on('output', () => resolve()))
  await Promise.all([piped.started, closed.started, gone.exited, ready])
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await sup.close()
})

interface Case {
  name: string
  data: () => Buffer | string
  status: number
  code: string
  errno?: string
  opts?: RawOptions
}

const post =
  (path: string, body: string | Buffer, headers: Array<[string, string]> = []): (() => Buffer) =>
  () =>
    httpRequest('POST', `${API}${path}`, {
      token: TOKEN,
      body,
      headers: [['Content-Type', 'application/json'], ...headers],
    })
const get =
  (path: string, headers: Array<[string, string]> = []): (() => Buffer) =>
  () =>
    httpRequest('GET', `${API}${path}`, { token: TOKEN, headers })

/** A JSON request body: the object form, or raw text when it is not an object. */
const body = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v))

// Bodies that are wrong for both `POST /processes/run` and `POST /processes`.
const BAD_BODIES: Array<[string, string, number, string, string?]> = [
  ['invalid JSON', '{"command": "echo"', 400, 'INVALID_REQUEST'],
  ['truncated JSON', '{"command":"ec', 400, 'INVALID_REQUEST'],
  ['empty body', '', 400, 'INVALID_REQUEST'],
  ['JSON array', '[]', 400, 'INVALID_REQUEST'],
  ['JSON null', 'null', 400, 'INVALID_REQUEST'],
  ['JSON string', '"echo"', 400, 'INVALID_REQUEST'],
  ['JSON number', '42', 400, 'INVALID_REQUEST'],
  ['no command', '{}', 400, 'INVALID_REQUEST'],
  ['command: number', body({ command: 123 }), 400, 'INVALID_REQUEST'],
  ['command: empty', body({ command: '' }), 400, 'INVALID_REQUEST'],
  ['command: array', body({ command: ['ls'] }), 400, 'INVALID_REQUEST'],
  ['command: null', body({ command: null }), 400, 'INVALID_REQUEST'],
  ['command: object', body({ command: { path: 'ls' } }), 400, 'INVALID_REQUEST'],
  ['args: string', body({ command: 'echo', args: 'x' }), 400, 'INVALID_REQUEST'],
  ['args: [number]', body({ command: 'echo', args: [1] }), 400, 'INVALID_REQUEST'],
  ['args: [null]', body({ command: 'echo', args: [null] }), 400, 'INVALID_REQUEST'],
  ['args: object', body({ command: 'echo', args: { 0: 'x' } }), 400, 'INVALID_REQUEST'],
  [
    'args: nested 100k deep',
    `{"command":"echo","args":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    400,
    'INVALID_REQUEST',
  ],
  ['env: array', body({ command: 'env', env: [] }), 400, 'INVALID_REQUEST'],
  ['env: string', body({ command: 'env', env: 'A=1' }), 400, 'INVALID_REQUEST'],
  ['env: number value', body({ command: 'env', env: { A: 1 } }), 400, 'INVALID_REQUEST'],
  ['env: null value', body({ command: 'env', env: { A: null } }), 400, 'INVALID_REQUEST'],
  ['env: empty name', body({ command: 'env', env: { '': 'x' } }), 400, 'INVALID_REQUEST'],
  ['env: name with =', body({ command: 'env', env: { 'A=B': 'x' } }), 400, 'INVALID_REQUEST'],
  ['working_dir: number', body({ command: 'pwd', working_dir: 5 }), 400, 'INVALID_REQUEST'],
  ['working_dir: empty', body({ command: 'pwd', working_dir: '' }), 400, 'INVALID_REQUEST'],
  ['timeout: string', body({ command: 'true', timeout: '5' }), 400, 'INVALID_REQUEST'],
  ['timeout: negative', body({ command: 'true', timeout: -1 }), 400, 'INVALID_REQUEST'],
  ['timeout: tiny negative', body({ command: 'true', timeout: -0.0001 }), 400, 'INVALID_REQUEST'],
  ['timeout: zero', body({ command: 'true', timeout: 0 }), 400, 'INVALID_REQUEST'],
  ['timeout: NaN literal', '{"command":"true","timeout":NaN}', 400, 'INVALID_REQUEST'],
  ['timeout: Infinity literal', '{"command":"true","timeout":Infinity}', 400, 'INVALID_REQUEST'],
  ['timeout: 1e309 (parses to Infinity)', '{"command":"true","timeout":1e309}', 400, 'INVALID_REQUEST'],
  ['timeout: huge', body({ command: 'true', timeout: 1e12 }), 400, 'INVALID_REQUEST'],
  ['timeout: boolean', body({ command: 'true', timeout: true }), 400, 'INVALID_REQUEST'],
  ['user: fraction', body({ command: 'id', user: 1.5 }), 400, 'INVALID_REQUEST'],
  ['user: array', body({ command: 'id', user: [] }), 400, 'INVALID_REQUEST'],
  ['user: empty object', body({ command: 'id', user: {} }), 400, 'INVALID_REQUEST'],
  ['user: negative uid', body({ command: 'id', user: { uid: -1 } }), 400, 'INVALID_REQUEST'],
  ['user: uid as string', body({ command: 'id', user: { uid: '0' } }), 400, 'INVALID_REQUEST'],
  ['user: uid 2^32-1', body({ command: 'id', user: { uid: 4294967295 } }), 400, 'INVALID_REQUEST'],
  ['user: gid fraction', body({ command: 'id', user: { uid: 1000, gid: 0.5 } }), 400, 'INVALID_REQUEST'],
  ['user: name and uid', body({ command: 'id', user: { uid: 1, name: 'x' } }), 400, 'INVALID_REQUEST'],
  ['user: name with space', body({ command: 'id', user: 'bad user!' }), 400, 'INVALID_REQUEST'],
  ['user: "1:2:3"', body({ command: 'id', user: '1:2:3' }), 400, 'INVALID_REQUEST'],
  ['user: "1000:"', body({ command: 'id', user: '1000:' }), 400, 'INVALID_REQUEST'],
  ['user: ":1000"', body({ command: 'id', user: ':1000' }), 400, 'INVALID_REQUEST'],
  ['user: "-1"', body({ command: 'id', user: '-1' }), 400, 'INVALID_REQUEST'],
  ['user: empty string', body({ command: 'id', user: '' }), 400, 'INVALID_REQUEST'],
  ['user: unknown name', body({ command: 'id', user: 'no-such-user-sandproc' }), 400, 'USER_NOT_FOUND'],
  ['user: unknown {name}', body({ command: 'id', user: { name: 'no-such-user-sandproc' } }), 400, 'USER_NOT_FOUND'],
  ['memory_limit: word', body({ command: 'true', memory_limit: 'lots' }), 400, 'INVALID_REQUEST'],
  ['memory_limit: negative', body({ command: 'true', memory_limit: -5 }), 400, 'INVALID_REQUEST'],
  ['memory_limit: zero', body({ command: 'true', memory_limit: 0 }), 400, 'INVALID_REQUEST'],
  ['NUL in command', body({ command: 'ec\u0000ho' }), 400, 'INVALID_REQUEST'],
  ['NUL in args', body({ command: 'echo', args: ['a\u0000b'] }), 400, 'INVALID_REQUEST'],
  ['NUL in env name', body({ command: 'env', env: { 'A\u0000B': 'x' } }), 400, 'INVALID_REQUEST'],
  ['NUL in env value', body({ command: 'env', env: { A: 'x\u0000y' } }), 400, 'INVALID_REQUEST'],
  ['NUL in working_dir', body({ command: 'pwd', working_dir: '/tmp\u0000/x' }), 400, 'INVALID_REQUEST'],
  ['NUL in user', body({ command: 'id', user: 'nobody\u0000' }), 400, 'INVALID_REQUEST'],
  ['2 MB command (body over 1 MiB)', body({ command: 'x'.repeat(2_000_000) }), 413, 'PAYLOAD_TOO_LARGE'],
  ['form-encoded body', 'command=echo&args=hi', 400, 'INVALID_REQUEST'],
  [
    'multipart body',
    '--b\r\nContent-Disposition: form-data; name="command"\r\n\r\necho\r\n--b--\r\n',
    400,
    'INVALID_REQUEST',
  ],
  ['invalid UTF-8 in JSON', '{"command":"\xff\xfe"}', 422, 'SPAWN_FAILED', 'ENOENT'],
  // Well formed, but the kernel refuses: the protocol's 422 with the errno.
  ['200 KB argument (E2BIG)', body({ command: 'echo', args: ['a'.repeat(200_000)] }), 422, 'SPAWN_FAILED', 'E2BIG'],
  ['missing program', body({ command: 'sandproc-no-such-program' }), 422, 'SPAWN_FAILED', 'ENOENT'],
  [
    'missing working_dir',
    body({ command: 'pwd', working_dir: '/nonexistent/sandproc' }),
    422,
    'SPAWN_FAILED',
    'ENOENT',
  ],
]

function bodyCases(): Case[] {
  const out: Case[] = []
  for (const [path, label] of [
    ['/processes/run', 'run'],
    ['/processes', 'start'],
  ] as const) {
    for (const [name, text, status, code, errno] of BAD_BODIES) {
      const bytes = name === 'invalid UTF-8 in JSON' ? Buffer.from(text, 'latin1') : text
      out.push({ name: `${label}: ${name}`, data: post(path, bytes), status, code, errno })
    }
    out.push(
      {
        name: `${label}: Content-Length 2 MiB declared, nothing sent`,
        data: () => httpRequest('POST', `${API}${path}`, { token: TOKEN, length: 2 * 1024 * 1024 }),
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
      {
        name: `${label}: chunked body over 1 MiB`,
        data: () => {
          const chunk = 'x'.repeat(256 * 1024)
          const chunks = Array.from({ length: 5 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('')
          return httpRequest('POST', `${API}${path}`, {
            token: TOKEN,
            length: 'none',
            headers: [['Transfer-Encoding', 'chunked']],
            body: `${chunks}0\r\n\r\n`,
          })
        },
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
      {
        name: `${label}: POST without a body or Content-Length`,
        data: () => httpRequest('POST', `${API}${path}`, { token: TOKEN, length: 'none' }),
        status: 400,
        code: 'INVALID_REQUEST',
      },
    )
  }
  const modes: Array<[string, unknown]> = [
    ['stdin_mode', 'maybe'],
    ['stdout_mode', 1],
    ['stderr_mode', ''],
    ['stdin_mode', ['pipe']],
  ]
  for (const [field, value] of modes) {
    out.push({
      name: `start: ${field}: ${JSON.stringify(value)}`,
      data: post('/processes', body({ command: 'true', [field]: value })),
      status: 400,
      code: 'INVALID_REQUEST',
    })
  }
  return out
}

function signalCases(): Case[] {
  const at =
    (pid: () => number, text: string): (() => Buffer) =>
    () =>
      post(`/processes/${pid()}/signal`, text)()
  const live = (): number => victim.pid
  const cases: Array<[string, string]> = [
    ['signal 0', body({ signal: 0 })],
    ['signal 65', body({ signal: 65 })],
    ['signal -1', body({ signal: -1 })],
    ['signal "TERM"', body({ signal: 'TERM' })],
    ['signal "15"', body({ signal: '15' })],
    ['signal 1.5', body({ signal: 1.5 })],
    ['signal null', body({ signal: null })],
    ['signal 1e400', '{"signal":1e400}'],
    ['signal true', body({ signal: true })],
    ['signal [9]', body({ signal: [9] })],
    ['no signal field', '{}'],
    ['empty body', ''],
    ['invalid JSON', '{"signal": 9'],
  ]
  return [
    ...cases.map(([name, text]): Case => ({
      name: `signal: ${name}`,
      data: at(live, text),
      status: 400,
      code: 'INVALID_REQUEST',
    })),
    {
      name: 'signal: to an exited process',
      data: at(() => gone.pid, body({ signal: 15 })),
      status: 400,
      code: 'PROCESS_NOT_RUNNING',
    },
    {
      name: 'signal: to an unknown pid',
      data: post('/processes/4194305/signal', body({ signal: 15 })),
      status: 404,
      code: 'NOT_FOUND',
    },
  ]
}

function stdinCases(): Case[] {
  const octet: Array<[string, string]> = [['Content-Type', 'application/octet-stream']]
  return [
    {
      name: 'stdin: process without a stdin pipe',
      data: () => post(`/processes/${closed.pid}/stdin`, 'data', octet)(),
      status: 400,
      code: 'STDIN_NOT_WRITABLE',
    },
    {
      name: 'stdin: exited process',
      data: () => post(`/processes/${gone.pid}/stdin`, 'data', octet)(),
      status: 400,
      code: 'STDIN_NOT_WRITABLE',
    },
    {
      name: 'stdin: 17 MiB declared',
      data: () =>
        httpRequest('POST', `${API}/processes/${piped.pid}/stdin`, {
          token: TOKEN,
          length: 17 * 1024 * 1024,
          headers: octet,
        }),
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
    {
      name: 'stdin: unknown pid',
      data: post('/processes/4194305/stdin', 'data', octet),
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      name: 'stdin/close: unknown pid',
      data: post('/processes/4194305/stdin/close', ''),
      status: 404,
      code: 'NOT_FOUND',
    },
  ]
}

function pathCases(): Case[] {
  const nf = (name: string, path: string, method = 'GET'): Case => ({
    name,
    data: () => httpRequest(method, path, { token: TOKEN }),
    status: 404,
    code: 'NOT_FOUND',
  })
  const na = (name: string, method: string, path: string): Case => ({
    name,
    data: () => httpRequest(method, `${API}${path}`, { token: TOKEN }),
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
  })
  const badId = (name: string, id: string): Case => ({
    name,
    data: () => get(`/processes/${piped.pid}/output/follow`, [['Last-Event-ID', id]])(),
    status: 400,
    code: 'INVALID_REQUEST',
  })
  return [
    nf('pid: encoded traversal', `${API}/processes/..%2f..%2fhealth`),
    nf('pid: raw traversal', `${API}/processes/../../../etc/passwd`),
    nf('pid: traversal below a pid', `${API}/processes/1/stdout/../../2`),
    nf('pid: -1', `${API}/processes/-1`),
    nf('pid: 0', `${API}/processes/0`),
    nf('pid: 1e3', `${API}/processes/1e3`),
    nf('pid: 0x10', `${API}/processes/0x10`),
    nf('pid: 11 digits', `${API}/processes/99999999999`),
    nf('pid: %00', `${API}/processes/%00`),
    nf('pid: 1%00', `${API}/processes/1%00/stdout`),
    nf('pid: word, DELETE', `${API}/processes/abc`, 'DELETE'),
    nf('pid: 8000 digits', `${API}/processes/${'1'.repeat(8000)}`),
    nf('pid: unknown, stdout', `${API}/processes/4194305/stdout`),
    nf('pid: unknown, follow', `${API}/processes/4194305/output/follow`),
    nf('unknown stream name', `${API}/processes/1/stdoutx`),
    nf('other API version', '/api/v2/health'),
    nf('trailing slash', `${API}/health/`),
    // GET / is the console's page (test/server/console/static.test.ts).
    nf('root, POST', '/', 'POST'),
    na('PUT /processes', 'PUT', '/processes'),
    na('GET /processes/run', 'GET', '/processes/run'),
    na('POST /health', 'POST', '/health'),
    na('PATCH /processes/{pid}', 'PATCH', '/processes/1'),
    na('DELETE /info', 'DELETE', '/info'),
    badId('Last-Event-ID: word', 'abc'),
    badId('Last-Event-ID: negative', '-1'),
    badId('Last-Event-ID: 20 digits', '99999999999999999999'),
  ]
}

/** Requests the HTTP parser refuses before any route runs. */
function parserCases(): Case[] {
  const head = `Host: x\r\nAuthorization: Bearer ${TOKEN}\r\n`
  return [
    { name: 'URL of 20 KB', data: get(`/health?${'a'.repeat(20_000)}`), status: 431, code: 'HEADERS_TOO_LARGE' },
    {
      name: 'header of 20 KB',
      data: get('/health', [['X-Big', 'a'.repeat(20_000)]]),
      status: 431,
      code: 'HEADERS_TOO_LARGE',
    },
    {
      name: '5,000 headers',
      data: get(
        '/health',
        Array.from({ length: 5000 }, (_, i): [string, string] => [`X-H${i}`, 'v']),
      ),
      status: 431,
      code: 'HEADERS_TOO_LARGE',
    },
    { name: 'request line garbage', data: () => 'GARBAGE\r\n\r\n', status: 400, code: 'INVALID_REQUEST' },
    {
      name: 'duplicate Content-Length',
      data: () => `POST ${API}/processes/run HTTP/1.1\r\n${head}Content-Length: 5\r\nContent-Length: 6\r\n\r\n{}`,
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      name: 'Content-Length -1',
      data: () => `POST ${API}/processes/run HTTP/1.1\r\n${head}Content-Length: -1\r\n\r\n{}`,
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      name: 'Content-Length not a number',
      data: () => `POST ${API}/processes/run HTTP/1.1\r\n${head}Content-Length: abc\r\n\r\n{}`,
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      name: 'bad chunk size',
      data: () =>
        `POST ${API}/processes/run HTTP/1.1\r\n${head}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      name: 'NUL in a header value',
      data: () => `GET ${API}/health HTTP/1.1\r\n${head}X-A: a\u0000b\r\n\r\n`,
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      name: 'space in a header name',
      data: () => `GET ${API}/health HTTP/1.1\r\n${head}X A: b\r\n\r\n`,
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      name: 'body cut short (client half-closes)',
      data: () => httpRequest('POST', `${API}/processes/run`, { token: TOKEN, body: '{"command":', length: 100 }),
      opts: { halfClose: true },
      status: 400,
      code: 'INVALID_REQUEST',
    },
  ]
}

const CASES: Case[] = [...bodyCases(), ...signalCases(), ...stdinCases(), ...pathCases(), ...parserCases()]

async function health(): Promise<void> {
  const r = await rawRequest(port, get('/health')())
  expect({ status: r.status, json: r.json }).toEqual({ status: 200, json: { healthy: true } })
}

describe(`${CASES.length} malformed requests`, () => {
  it('the table has at least 40 cases and covers every endpoint', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40)
  })

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const r = await rawRequest(port, c.data(), c.opts)
    const want: Record<string, unknown> = { status: c.status, code: c.code, error: 'string' }
    const json = (r.json ?? {}) as Record<string, unknown>
    const got: Record<string, unknown> = { status: r.status, code: json.code, error: typeof json.error }
    if (c.errno !== undefined) {
      want.errno = c.errno
      got.errno = json.errno
    }
    expect(got).toEqual(want)
    expect(r.headers['content-type'] ?? '').toMatch(/^application\/json/)
    await health()
    // Nothing malformed touched the processes the server runs.
    expect([piped.running, closed.running]).toEqual([true, true])
  })

  it('after all of them: the server still runs a process end to end', async () => {
    const r = await rawRequest(port, post('/processes/run', body({ command: 'sh', args: ['-c', 'echo ok; exit 3'] }))())
    expect(r.status).toBe(200)
    expect(r.body).toContain('data: {"line":"ok"')
    expect(r.body).toMatch(/data: \{"exit_code":3[,}]/)
  })
})
