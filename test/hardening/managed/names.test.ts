/**
 * Managed names that no WHATWG URL client can address (docs/hardening.md): fetch and
 * browsers remove `.` and `..` segments, even percent-encoded, so the server refuses them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startServer, type TestServer } from '../../helpers/server.js'

let s: TestServer

beforeAll(async () => {
  s = await startServer()
})
afterAll(async () => {
  await s.close()
})

describe('managed names', () => {
  it.each(['.', '..'])('%j is 400 INVALID_REQUEST and nothing runs', async (name) => {
    const res = await s.api('/processes', { method: 'POST', body: { command: 'sleep', args: ['30'], name } })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ code: 'INVALID_REQUEST' })
    expect(s.sup.running).toBe(0)
    expect(s.sup.managedProcesses()).toHaveLength(0)
  })

  it.each(['...', '.x', 'x.', '.hidden'])('%j is a name like any other', async (name) => {
    const res = await s.api('/processes', {
      method: 'POST',
      body: { command: 'true', name, restart: { policy: 'never' } },
    })
    expect(res.status).toBe(201)
    const got = await s.api(`/processes/${encodeURIComponent(name)}`)
    expect(got.status).toBe(200)
    expect(await got.json()).toMatchObject({ managed: { name } })
  })
})
