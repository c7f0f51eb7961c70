import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createServer } from '../../../src/server/server.js'
import { Supervisor } from '../../../src/supervisor.js'
import type { ProcessInfo } from '../../../src/types.js'
import { json, readSse, startServer, type TestServer } from '../../helpers/server.js'

const servers: TestServer[] = []
async function server(...args: Parameters<typeof startServer>): Promise<TestServer> {
  const t = await startServer(...args)
  servers.push(t)
  return t
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((t) => t.close()))
})

async function expectError(res: Response, status: number, code: string): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  const body = await json(res)
  expect(body.code).toBe(code)
  expect(typeof body.error).toBe('string')
  return body
}

describe('authentication', () => {
  it('is 401 without a token, with a wrong one, or with another scheme', async () => {
    const t = await server()
    const missing = await t.api('/health', { token: null })
    expect(missing.headers.get('www-authenticate')).toBe('Bearer')
    await expectError(missing, 401, 'UNAUTHORIZED')
    await expectError(await t.api('/health', { token: 'wrong' }), 401, 'UNAUTHORIZED')
    await expectError(await t.api('/processes', { token: 'test-token-of-some-length-and-more' }), 401, 'UNAUTHORIZED')
    const basic = await t.api('/health', { token: null, headers: { authorization: 'Basic dGVzdA==' } })
    await expectError(basic, 401, 'UNAUTHORIZED')
    // Also before the router: an unknown path is not revealed.
    await expectError(await t.api('/nope', { token: null }), 401, 'UNAUTHORIZED')
    expect(
      (await t.api('/health', { headers: { authorization: 'bearer test-token-of-some-length' }, token: null })).status,
    ).toBe(200)
  })

  it('refuses to start without a token unless allowNoAuth, and then serves loopback only', async () => {
    const sup = new Supervisor()
    try {
      expect(() => createServer({ supervisor: sup })).toThrow(TypeError)
      const open = createServer({ supervisor: sup, allowNoAuth: true })
      await new Promise<void>((resolve) => open.listen(0, '127.0.0.1', resolve))
      const { port } = open.address() as AddressInfo
      expect((await fetch(`http://127.0.0.1:${port}/api/v1/health`)).status).toBe(200)
      open.closeAllConnections()
      await new Promise((resolve) => open.close(resolve))

      const exposed = createServer({ supervisor: sup, allowNoAuth: true })
      const failed = new Promise<NodeJS.ErrnoException>((resolve) => exposed.once('error', resolve))
      exposed.listen(0, '0.0.0.0')
      expect((await failed).code).toBe('ERR_NO_AUTH_NOT_LOOPBACK')
      expect(exposed.listening).toBe(false)
    } finally {
      await sup.close()
    }
  })
})

describe('routing', () => {
  it('is 404 for an unknown path and 405 with Allow for a wrong method', async () => {
    const t = await server()
    await expectError(await t.api('/nope'), 404, 'NOT_FOUND')
    await expectError(await t.api('/processes/'), 404, 'NOT_FOUND')
    const wrong = await t.api('/processes/run')
    expect(wrong.headers.get('allow')).toBe('POST')
    await expectError(wrong, 405, 'METHOD_NOT_ALLOWED')
    await expectError(await t.api('/processes', { method: 'PUT' }), 405, 'METHOD_NOT_ALLOWED')
    await expectError(await t.api('/health', { method: 'POST' }), 405, 'METHOD_NOT_ALLOWED')
  })
})

describe('request validation', () => {
  it('is 400 INVALID_REQUEST for malformed JSON, wrong types and bad fields, naming the field', async () => {
    const t = await server()
    for (const path of ['/processes/run', '/processes']) {
      await expectError(await t.api(path, { method: 'POST', body: '{"command": ' }), 400, 'INVALID_REQUEST')
      await expectError(await t.api(path, { method: 'POST', body: '["sh"]' }), 400, 'INVALID_REQUEST')
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ command: 'sh', args: 'echo' }, 'args'],
        [{ command: '' }, 'command'],
        [{ command: 42 }, 'command'],
        [{ command: 'sh', env: { A: 1 } }, 'env'],
        [{ command: 'sh', timeout: -1 }, 'timeout'],
        [{ command: 'sh', args: ['a\0b'] }, 'args'],
        [{ command: 'sh', user: { foo: 1 } }, 'user'],
      ]
      for (const [body, field] of cases) {
        const err = await expectError(await t.api(path, { method: 'POST', body }), 400, 'INVALID_REQUEST')
        expect(err.error).toContain(field)
      }
    }
    await expectError(
      await t.api('/processes', { method: 'POST', body: { command: 'sh', stdin_mode: 'tty' } }),
      400,
      'INVALID_REQUEST',
    )
    expect(t.sup.total).toBe(0)
  })

  it('is 400 USER_NOT_FOUND for an unknown user name', async () => {
    const t = await server()
    const body = { command: 'true', user: 'no-such-user-sandproc' }
    await expectError(await t.api('/processes/run', { method: 'POST', body }), 400, 'USER_NOT_FOUND')
    await expectError(await t.api('/processes', { method: 'POST', body }), 400, 'USER_NOT_FOUND')
  })

  it('is 422 SPAWN_FAILED with errno and syscall for a program that cannot start', async () => {
    const t = await server()
    // Not executable by anyone: even root gets EACCES without an x bit.
    const dir = mkdtempSync(join(tmpdir(), 'sandproc-'))
    const plain = join(dir, 'plain')
    writeFileSync(plain, 'echo hi\n', { mode: 0o644 })
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ command: 'true', working_dir: '/no/such/dir' }, 'ENOENT', 'chdir'],
      [{ command: 'no-such-program-sandproc' }, 'ENOENT', 'execve'],
      [{ command: plain }, 'EACCES', 'execve'],
    ]
    for (const [body, errno, syscall] of cases) {
      for (const path of ['/processes/run', '/processes']) {
        const err = await expectError(await t.api(path, { method: 'POST', body }), 422, 'SPAWN_FAILED')
        expect(err).toMatchObject({ errno, syscall })
      }
    }
    rmSync(dir, { recursive: true })
  })

  it('is 400 INVALID_REQUEST for a bad signal or Last-Event-ID', async () => {
    const t = await server()
    const res = await t.api('/processes', { method: 'POST', body: { command: 'sleep', args: ['60'] } })
    const { pid } = (await res.json()) as ProcessInfo
    for (const signal of [0, 65, -1, 1.5, 'SIGNOPE', 'TERM', 'SIGKILL', null]) {
      await expectError(
        await t.api(`/processes/${pid}/signal`, { method: 'POST', body: { signal } }),
        400,
        'INVALID_REQUEST',
      )
    }
    await expectError(await t.api(`/processes/${pid}/signal`, { method: 'POST', body: 'nope' }), 400, 'INVALID_REQUEST')
    const follow = await t.api(`/processes/${pid}/stdout/follow`, { headers: { 'last-event-id': 'x' } })
    await expectError(follow, 400, 'INVALID_REQUEST')
    // A number works.
    expect((await t.api(`/processes/${pid}/signal`, { method: 'POST', body: { signal: 9 } })).status).toBe(200)
  })

  it('is 400 STDIN_NOT_WRITABLE for a process started without a stdin pipe', async () => {
    const t = await server()
    const res = await t.api('/processes', { method: 'POST', body: { command: 'sleep', args: ['60'] } })
    const { pid } = (await res.json()) as ProcessInfo
    await expectError(await t.api(`/processes/${pid}/stdin`, { method: 'POST', body: 'x' }), 400, 'STDIN_NOT_WRITABLE')
  })

  it('is 400 STDIN_NOT_WRITABLE when the process has closed its end of the pipe', async () => {
    const t = await server()
    const body = { command: 'sh', args: ['-c', 'exec 0<&-; echo closed; exec sleep 60'], stdin_mode: 'pipe' }
    const { pid } = (await (await t.api('/processes', { method: 'POST', body })).json()) as ProcessInfo
    await readSse(await t.api(`/processes/${pid}/stdout/follow`), (r) => r.messages.length > 0)
    await expectError(await t.api(`/processes/${pid}/stdin`, { method: 'POST', body: 'x' }), 400, 'STDIN_NOT_WRITABLE')
  })
})

describe('limits', () => {
  it('is 413 PAYLOAD_TOO_LARGE for a JSON body or a stdin write over its limit', async () => {
    const t = await server({ maxJsonBytes: 1024, maxStdinBytes: 4096 })
    const big = { command: 'true', args: ['x'.repeat(2048)] }
    await expectError(await t.api('/processes/run', { method: 'POST', body: big }), 413, 'PAYLOAD_TOO_LARGE')
    await expectError(await t.api('/processes', { method: 'POST', body: big }), 413, 'PAYLOAD_TOO_LARGE')
    const res = await t.api('/processes', { method: 'POST', body: { command: 'cat', stdin_mode: 'pipe' } })
    const { pid } = (await res.json()) as ProcessInfo
    const tooMuch = Buffer.alloc(8192, 0x61)
    await expectError(
      await t.api(`/processes/${pid}/stdin`, { method: 'POST', body: tooMuch }),
      413,
      'PAYLOAD_TOO_LARGE',
    )
    // A chunked body without Content-Length is cut off as it arrives.
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(Buffer.alloc(2048, 0x62))
        controller.close()
      },
    })
    const streamed = await fetch(`${t.url}/api/v1/processes/${pid}/stdin`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-token-of-some-length' },
      body: chunked,
      duplex: 'half',
    } as RequestInit)
    await expectError(streamed, 413, 'PAYLOAD_TOO_LARGE')
    expect((await t.api(`/processes/${pid}/stdin`, { method: 'POST', body: 'ok\n' })).status).toBe(204)
  })

  it('is 429 TOO_MANY_PROCESSES at the running-process limit', async () => {
    const t = await server({ maxProcesses: 1 })
    const res = await t.api('/processes', { method: 'POST', body: { command: 'sleep', args: ['60'] } })
    const { pid } = (await res.json()) as ProcessInfo
    await expectError(
      await t.api('/processes', { method: 'POST', body: { command: 'true' } }),
      429,
      'TOO_MANY_PROCESSES',
    )
    await expectError(
      await t.api('/processes/run', { method: 'POST', body: { command: 'true' } }),
      429,
      'TOO_MANY_PROCESSES',
    )
    expect((await t.api(`/processes/${pid}`, { method: 'DELETE' })).status).toBe(204)
    await readSse(await t.api(`/processes/${pid}/stdout/follow`))
    const again = await t.api('/processes/run', { method: 'POST', body: { command: 'true' } })
    expect(again.status).toBe(200)
    await readSse(again)
  })

  it('is 500 INTERNAL_ERROR for anything else, and the server keeps running', async () => {
    const errors: unknown[] = []
    const t = await server({ onError: (err) => errors.push(err) })
    await t.sup.close()
    const res = await t.api('/processes/run', { method: 'POST', body: { command: 'true' } })
    expect(await expectError(res, 500, 'INTERNAL_ERROR')).toEqual({
      error: 'Internal server error',
      code: 'INTERNAL_ERROR',
    })
    expect(errors).toHaveLength(1)
    expect((await t.api('/health')).status).toBe(200)
  })
})
