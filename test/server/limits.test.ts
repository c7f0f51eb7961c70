/**
 * pids_limit and cpu_limit over HTTP (docs/cgroups.md): bad values are 400
 * INVALID_REQUEST on run and start; a limit the machine cannot apply is 422
 * SPAWN_FAILED with errno ENOTSUP and syscall cgroup. (Not in the v2 VM: it has no
 * loopback network.)
 */
import { describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/supervisor.js'
import { startServer } from '../helpers/server.js'

describe('limits over HTTP', () => {
  it('bad values: 400 INVALID_REQUEST for run and start', async () => {
    const srv = await startServer({}, { cgroup: false, watchdog: false })
    try {
      for (const [path_, body] of [
        ['/processes/run', { command: 'true', pids_limit: 0 }],
        ['/processes/run', { command: 'true', cpu_limit: 'half' }],
        ['/processes', { command: 'true', pids_limit: -3 }],
        ['/processes', { command: 'true', cpu_limit: -1 }],
      ] as const) {
        const res = await srv.api(path_, { method: 'POST', body })
        expect(res.status).toBe(400)
        expect(await res.json()).toMatchObject({
          code: 'INVALID_REQUEST',
          error: expect.stringMatching(/pids_limit|cpu_limit/),
        })
      }
    } finally {
      await srv.close()
    }
  })

  it('a controller turned off: 422 SPAWN_FAILED, errno ENOTSUP, syscall cgroup', async () => {
    const srv = await startServer({
      supervisor: new Supervisor({ cgroup: { hierarchies: { pids: false, cpu: false } } }),
    })
    try {
      for (const field of ['pids_limit', 'cpu_limit']) {
        for (const route of ['/processes/run', '/processes']) {
          const res = await srv.api(route, { method: 'POST', body: { command: 'true', [field]: 4 } })
          expect(res.status).toBe(422)
          expect(await res.json()).toMatchObject({
            code: 'SPAWN_FAILED',
            errno: 'ENOTSUP',
            syscall: 'cgroup',
            error: expect.stringContaining(field),
          })
        }
      }
    } finally {
      await srv.close()
    }
  })

  it('a contained process answers with its figures in the run stream', async () => {
    const srv = await startServer()
    try {
      const res = await srv.api('/processes/run', {
        method: 'POST',
        body: { command: 'sh', args: ['-c', 'true & wait'], pids_limit: 1, cpu_limit: 0.5 },
      })
      expect(res.status).toBe(200)
      const frames = (await res.text())
        .split('\n\n')
        .filter((f) => f.startsWith('data: '))
        .map((f) => JSON.parse(f.slice(6)) as Record<string, unknown>)
      const last = frames.at(-1) as { exit_code: number; pids_limit_hits: number; usage: Record<string, unknown> }
      expect(last.exit_code).not.toBe(0)
      expect(last.pids_limit_hits).toBeGreaterThan(0)
      expect(last.usage.cpu_throttled_ms).toBeTypeOf('number')
    } finally {
      await srv.close()
    }
  })
})
