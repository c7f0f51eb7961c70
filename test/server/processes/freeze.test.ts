/**
 * `POST /processes/{pid}/freeze` and `/thaw` over HTTP (docs/freeze.md): the JSON shapes,
 * DELETE of a frozen process, an ended process, and 422 FREEZE_UNAVAILABLE without a freezer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { json, startServer, type TestServer } from '../../helpers/server.js'
import { lineMatching } from '../../helpers/events.js'

let srv: TestServer

beforeAll(async () => {
  srv = await startServer()
})
afterAll(async () => {
  await srv.close()
})

const LOOP = 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.005; done'

async function startLoop(s: TestServer): Promise<number> {
  const res = await s.api('/processes', { method: 'POST', body: { command: 'sh', args: ['-c', LOOP] } })
  expect(res.status).toBe(201)
  const { pid } = (await res.json()) as { pid: number }
  await lineMatching(s.sup.process(pid)!, () => true)
  return pid
}

describe('freeze and thaw endpoints', () => {
  it('answer 200 with the ProcessInfo: frozen true while frozen, absent after the thaw; twice is fine', async () => {
    const pid = await startLoop(srv)
    for (let i = 0; i < 2; i++) {
      const res = await srv.api(`/processes/${pid}/freeze`, { method: 'POST' })
      expect(res.status).toBe(200)
      expect(await json(res)).toMatchObject({ pid, status: 'running', frozen: true, exit_code: null, signal: null })
    }
    expect(await json(await srv.api(`/processes/${pid}`))).toMatchObject({ frozen: true })
    const listed = (await json(await srv.api('/processes'))).processes as { pid: number; frozen?: boolean }[]
    expect(listed.find((p) => p.pid === pid)).toMatchObject({ frozen: true })
    for (let i = 0; i < 2; i++) {
      const res = await srv.api(`/processes/${pid}/thaw`, { method: 'POST' })
      expect(res.status).toBe(200)
      const info = await json(res)
      expect(info).toMatchObject({ pid, status: 'running' })
      expect(info).not.toHaveProperty('frozen')
    }
    expect((await srv.api(`/processes/${pid}`, { method: 'DELETE' })).status).toBe(204)
  })

  it('DELETE of a frozen process kills it: 204, then signaled with signal 9 and reason killed', async () => {
    const pid = await startLoop(srv)
    expect((await srv.api(`/processes/${pid}/freeze`, { method: 'POST' })).status).toBe(200)
    expect((await srv.api(`/processes/${pid}`, { method: 'DELETE' })).status).toBe(204)
    const info = await json(await srv.api(`/processes/${pid}`))
    expect(info).toMatchObject({ status: 'signaled', signal: 9, reason: 'killed', killed_by: 'api' })
    expect(info).not.toHaveProperty('frozen')
  })

  it('an ended process is 400 PROCESS_NOT_RUNNING; an unknown pid 404; GET is 405', async () => {
    const res = await srv.api('/processes', { method: 'POST', body: { command: 'true' } })
    const { pid } = (await res.json()) as { pid: number }
    await srv.sup.process(pid)!.exited
    for (const op of ['freeze', 'thaw']) {
      const r = await srv.api(`/processes/${pid}/${op}`, { method: 'POST' })
      expect(r.status).toBe(400)
      expect(await json(r)).toEqual({ error: `Process ${pid} is not running`, code: 'PROCESS_NOT_RUNNING' })
    }
    const unknown = await srv.api('/processes/999999999/freeze', { method: 'POST' })
    expect(unknown.status).toBe(404)
    expect((await srv.api(`/processes/${pid}/freeze`)).status).toBe(405)
  })

  it('without a freezer: 422 FREEZE_UNAVAILABLE', async () => {
    const off = await startServer({}, { cgroup: false })
    try {
      const pid = await startLoop(off)
      const res = await off.api(`/processes/${pid}/freeze`, { method: 'POST' })
      expect(res.status).toBe(422)
      expect(await json(res)).toEqual({
        error: expect.stringContaining('cannot be frozen'),
        code: 'FREEZE_UNAVAILABLE',
      })
      expect(await json(await off.api(`/processes/${pid}`))).not.toHaveProperty('frozen')
    } finally {
      await off.close()
    }
  })
})
