/**
 * Upgrade offers and undecodable targets (docs/hardening.md): no request throws out of a
 * listener, and only a WebSocket to the PTY socket path is upgraded; every other offer
 * (`curl --http2` sends `Upgrade: h2c`) is served as a plain request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { rawRequest, requestText } from '../helpers/raw-http.js'
import { startServer, TOKEN, type TestServer } from '../helpers/server.js'

let s: TestServer

beforeAll(async () => {
  s = await startServer()
})
afterAll(async () => {
  await s.close()
})

const WEBSOCKET = {
  Connection: 'Upgrade, close',
  Upgrade: 'websocket',
  'Sec-WebSocket-Version': '13',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
}
const H2C = {
  Connection: 'Upgrade, HTTP2-Settings, close',
  Upgrade: 'h2c',
  'HTTP2-Settings': 'AAMAAABkAAQCAAAAAAIAAAAA',
}
const AUTH = { Authorization: `Bearer ${TOKEN}` }

async function stillServes(): Promise<void> {
  const res = await s.api('/health')
  expect(res.status).toBe(200)
  expect(await res.json()).toEqual({ healthy: true })
}

describe('undecodable upgrade targets', () => {
  it.each([['/api/v1/pty/%ZZ/ws'], ['/api/v1/pty/%E0%A4%A/ws'], ['/api/v1/pty/%ZZ/ws?token=%ZZ']])(
    'a WebSocket upgrade to %s is a JSON 400, and the server goes on',
    async (target) => {
      const r = await rawRequest(s.url, requestText('GET', target, WEBSOCKET))
      expect(r.status).toBe(400)
      expect(JSON.parse(r.body)).toMatchObject({ code: 'INVALID_REQUEST' })
      await stillServes()
    },
  )

  it.each([['//'], ['//x/../..'], ['http://[::1'], ['*']])(
    'a WebSocket offer to %s is served as a plain request: a JSON 4xx',
    async (target) => {
      const r = await rawRequest(s.url, requestText('GET', target, { ...WEBSOCKET, ...AUTH }))
      expect(r.status).toBeGreaterThanOrEqual(400)
      expect(r.status).toBeLessThan(500)
      expect(JSON.parse(r.body)).toHaveProperty('code')
      await stillServes()
    },
  )
})

describe('upgrade offers elsewhere are ignored', () => {
  it('GET /api/v1/health with Upgrade: h2c answers as without it', async () => {
    const r = await rawRequest(s.url, requestText('GET', '/api/v1/health', { ...H2C, ...AUTH }))
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body)).toEqual({ healthy: true })
  })

  it('GET / with Upgrade: h2c serves the console', async () => {
    const r = await rawRequest(s.url, requestText('GET', '/', H2C))
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toMatch(/text\/html/)
  })

  it('POST /processes/run with Upgrade: h2c runs the program, body and all', async () => {
    const body = JSON.stringify({ command: 'echo', args: ['through h2c'] })
    const r = await rawRequest(
      s.url,
      requestText('POST', '/api/v1/processes/run', { ...H2C, ...AUTH, 'Content-Type': 'application/json' }, body),
    )
    expect(r.status).toBe(200)
    expect(r.body).toContain('"line":"through h2c"')
    expect(r.body).toContain('data: {"exit_code":0')
  })

  it('a WebSocket offer to an API path is served as that path, token checked', async () => {
    const noToken = await rawRequest(s.url, requestText('GET', '/api/v1/info', WEBSOCKET))
    expect(noToken.status).toBe(401)
    expect(JSON.parse(noToken.body)).toMatchObject({ code: 'UNAUTHORIZED' })
    const withToken = await rawRequest(s.url, requestText('GET', '/api/v1/info', { ...WEBSOCKET, ...AUTH }))
    expect(withToken.status).toBe(200)
    expect(JSON.parse(withToken.body)).toHaveProperty('running_processes')
  })

  it('an h2c offer to the PTY socket path is a plain request: no such route, 404', async () => {
    const r = await rawRequest(s.url, requestText('GET', '/api/v1/pty/abc/ws', { ...H2C, ...AUTH }))
    expect(r.status).toBe(404)
    expect(JSON.parse(r.body)).toMatchObject({ code: 'NOT_FOUND' })
  })

  it('a WebSocket offer to an unknown PTY session is still the socket path: 404 from the upgrade', async () => {
    const r = await rawRequest(s.url, requestText('GET', '/api/v1/pty/nope/ws', WEBSOCKET))
    expect(r.status).toBe(404)
    expect(JSON.parse(r.body)).toMatchObject({ code: 'NOT_FOUND' })
  })
})
