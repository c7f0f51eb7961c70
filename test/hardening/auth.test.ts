/**
 * Authentication (docs/guarantees.md): no route answers without the token (not even
 * with a 404 that would reveal which paths exist), nothing happens on an unauthorised
 * request (no process started, killed or written to, no body buffered), the token is
 * never echoed in a response nor logged, tokens of any length are refused without an
 * error, and the CLI binds to loopback by default and does not hand its token to the
 * processes it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/index.js'
import type { SupervisedProcess } from '../../src/core/process.js'
import { createServer } from '../../src/server/server.js'
import { httpRequest, rawRequest, type RawResponse } from '../fixtures/hardening/raw-http.js'
import { ROOT } from '../helpers/hardening.js'

const TOKEN = 'hardening-auth-token-9f2c1d7e5b'
const API = '/api/v1'

let sup: Supervisor
let server: ReturnType<typeof createServer>
let port = 0
let target: SupervisedProcess

beforeAll(async () => {
  sup = new Supervisor()
  server = createServer({ supervisor: sup, token: TOKEN })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
  target = sup.start({ command: 'cat', stdin_mode: 'pipe' })
  await target.started
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await sup.close()
})

/**
 * Every route (docs/protocol.md "Endpoints") with a method it serves, plus unknown
 * paths and methods.
 */
function routes(pid: number): Array<[string, string, string?]> {
  const run = JSON.stringify({ command: 'sh', args: ['-c', 'echo ran'] })
  return [
    ['GET', `${API}/health`],
    ['GET', `${API}/info`],
    ['GET', `${API}/processes`],
    ['POST', `${API}/processes`, run],
    ['POST', `${API}/processes/run`, run],
    ['GET', `${API}/processes/${pid}`],
    ['DELETE', `${API}/processes/${pid}`],
    ['POST', `${API}/processes/${pid}/signal`, '{"signal":9}'],
    ['POST', `${API}/processes/${pid}/stdin`, 'written without a token\n'],
    ['POST', `${API}/processes/${pid}/stdin/close`, ''],
    ['GET', `${API}/processes/${pid}/stdout`],
    ['GET', `${API}/processes/${pid}/stderr`],
    ['GET', `${API}/processes/${pid}/output`],
    ['GET', `${API}/processes/${pid}/stdout/follow`],
    ['GET', `${API}/processes/${pid}/stderr/follow`],
    ['GET', `${API}/processes/${pid}/output/follow`],
    ['GET', `${API}/processes/4194305`],
    ['GET', `${API}/no-such-route`],
    // GET / and the console's own files are public (they hold no secret; see
    // test/server/console/static.test.ts); anything else outside the API is not.
    ['POST', '/'],
    ['GET', '/console/no-such-file.js'],
    ['PUT', `${API}/processes`],
    ['GET', `${API}/health?token=${TOKEN}`],
  ]
}

/** Authorization header values that must all be refused. */
const BAD_AUTH: Array<[string, string | null]> = [
  ['no header', null],
  ['empty', ''],
  ['"Bearer" alone', 'Bearer'],
  ['"Bearer " and nothing', 'Bearer '],
  ['wrong token', 'Bearer wrong-token'],
  ['token minus its last character', `Bearer ${TOKEN.slice(0, -1)}`],
  ['token plus one character', `Bearer ${TOKEN}x`],
  ['token with the last character changed', `Bearer ${TOKEN.slice(0, -1)}f`],
  ['token in upper case', `Bearer ${TOKEN.toUpperCase()}`],
  ['another scheme', `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}`],
  ['token without a scheme', TOKEN],
  ['two tokens', `Bearer ${TOKEN} ${TOKEN}`],
  ['one-character token', 'Bearer x'],
  ['8 KiB token', `Bearer ${'t'.repeat(8192)}`],
  ['non-ASCII token', `Bearer ${TOKEN.slice(0, -1)}\u00e9`],
]

function expectUnauthorized(r: RawResponse, sent: string | null): void {
  expect({ status: r.status, json: r.json }).toEqual({
    status: 401,
    json: { error: expect.any(String) as unknown, code: 'UNAUTHORIZED' },
  })
  expect(r.headers['www-authenticate']).toMatch(/^Bearer/)
  // Neither the real token nor what was sent comes back.
  const all = JSON.stringify(r.headers) + r.body
  expect(all).not.toContain(TOKEN)
  if (sent !== null && sent.length > 8) expect(all).not.toContain(sent.replace(/^\S+\s+/, ''))
}

describe('no route answers without the token', () => {
  it.each(BAD_AUTH)('Authorization %s: every route is 401, and nothing happens', async (_name, auth) => {
    const totalBefore = sup.total
    for (const [method, url, body] of routes(target.pid)) {
      const headers: Array<[string, string]> = auth === null ? [] : [['Authorization', auth]]
      const r = await rawRequest(port, httpRequest(method, url, { token: null, headers, body }))
      expectUnauthorized(r, auth)
    }
    // No process was started, and the target was neither killed nor written to.
    expect(sup.total).toBe(totalBefore)
    expect(target.running).toBe(true)
    expect(target.stdinWritable).toBe(true)
    expect(target.log?.snapshot('output').lines).toEqual([])
  })

  it('an unauthorised upload is refused at once, before its body is read', async () => {
    // 1 GiB declared, a few bytes sent: the 401 must come without waiting for the rest.
    const data = httpRequest('POST', `${API}/processes/run`, { token: null, length: 1024 ** 3, body: '{"command":' })
    const r = await rawRequest(port, data)
    expectUnauthorized(r, null)
  })

  it('with the token, every kind of request works (the refusals above were about the token)', async () => {
    const ok = await rawRequest(port, httpRequest('GET', `${API}/health`, { token: TOKEN }))
    expect({ status: ok.status, json: ok.json }).toEqual({ status: 200, json: { healthy: true } })
    const lower = await rawRequest(
      port,
      httpRequest('GET', `${API}/health`, { token: null, headers: [['Authorization', `bearer ${TOKEN}`]] }),
    )
    expect(lower.status).toBe(200)
  })
})

describe('the token is never logged', () => {
  it('nothing the server writes to the console or stdio contains it, even on internal errors', async () => {
    const closedSup = new Supervisor()
    await closedSup.close()
    const writes: string[] = []
    const text = (args: unknown[]): string =>
      args
        .map((a) => (a instanceof Error ? `${a.stack ?? a.message}` : typeof a === 'string' ? a : JSON.stringify(a)))
        .join(' ')
    const original = {
      out: process.stdout.write.bind(process.stdout),
      err: process.stderr.write.bind(process.stderr),
      log: console.log,
      error: console.error,
      warn: console.warn,
      info: console.info,
    }
    const capture = (chunk: string | Uint8Array): boolean => {
      writes.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
      return true
    }
    process.stdout.write = capture as typeof process.stdout.write
    process.stderr.write = capture as typeof process.stderr.write
    console.log =
      console.error =
      console.warn =
      console.info =
        (...args: unknown[]): void => void writes.push(text(args))
    // Default onError (console.error): a closed supervisor makes every run a 500.
    const failing = createServer({ supervisor: closedSup, token: TOKEN })
    try {
      await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve))
      const p = (failing.address() as AddressInfo).port
      const run = httpRequest('POST', `${API}/processes/run`, { token: TOKEN, body: '{"command":"true"}' })
      const r = await rawRequest(p, run)
      expect(r.status).toBe(500)
      for (const [method, url, body] of routes(target.pid)) {
        await rawRequest(p, httpRequest(method, url, { token: TOKEN, body }))
        await rawRequest(
          p,
          httpRequest(method, url, { token: null, headers: [['Authorization', `Bearer ${TOKEN}x`]], body }),
        )
      }
    } finally {
      process.stdout.write = original.out
      process.stderr.write = original.err
      Object.assign(console, { log: original.log, error: original.error, warn: original.warn, info: original.info })
      failing.closeAllConnections()
      await new Promise((resolve) => failing.close(resolve))
    }
    expect(writes.join('')).toContain('internal error') // the 500 was logged ...
    expect(writes.join('')).not.toContain(TOKEN) // ... without the token
  })
})

for (const how of ['SANDPROC_TOKEN', '--token'] as const) {
  describe(`the CLI, token given by ${how}`, () => {
    let cli: ChildProcess
    let stderr = ''
    let address = ''
    const SECRET = `cli-secret-token-4b8e0a6c-${how === '--token' ? 'flag' : 'env'}`

    beforeAll(async () => {
      const args = [
        path.join(ROOT, 'src', 'cli', 'main.ts'),
        'serve',
        '--port',
        '0',
        ...(how === '--token' ? ['--token', SECRET] : []),
      ]
      cli = spawn(process.execPath, ['--import', 'tsx', ...args], {
        cwd: ROOT,
        env: how === '--token' ? process.env : { ...process.env, SANDPROC_TOKEN: SECRET },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      cli.stdout?.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      cli.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      address = await new Promise<string>((resolve, reject) => {
        const onData = (): void => {
          const m = /listening on http:\/\/(\S+)/.exec(stderr)
          if (m !== null) resolve(m[1])
        }
        cli.stderr?.on('data', onData)
        cli.on('exit', (code) => reject(new Error(`cli exited with ${String(code)}: ${stderr}`)))
      })
    })

    afterAll(async () => {
      const exited = new Promise<void>((resolve) => cli.on('exit', () => resolve()))
      cli.kill('SIGTERM')
      await exited
    })

    it('binds to 127.0.0.1 by default', () => {
      expect(address).toMatch(/^127\.0\.0\.1:\d+$/)
    })

    it('does not let the processes it runs see its token, under any user', async () => {
      const port = Number(address.split(':')[1])
      for (const user of [undefined, 'nobody']) {
        // What a process can see: its own environment and the server's command line.
        const script = 'env; echo; tr "\\0" " " < /proc/$PPID/cmdline; echo'
        const r = await rawRequest(
          port,
          httpRequest('POST', `${API}/processes/run`, {
            token: SECRET,
            body: JSON.stringify({ command: 'sh', args: ['-c', script], user, working_dir: '/' }),
          }),
        )
        expect(r.status).toBe(200)
        expect(r.body).toContain('"exit_code":0')
        expect(r.body).toContain('PATH=')
        expect(r.body).not.toContain(SECRET)
      }
    })

    it('never prints the token it was given', () => {
      expect(stderr).toContain('listening on')
      expect(stderr).not.toContain(SECRET)
    })
  })
}
