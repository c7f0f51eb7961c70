/**
 * PTY sessions at scale (docs/protocol.md "PTY sessions"): the live-session limit
 * frees a slot at exit, and 200 sessions opened and closed leave no fd (pty master or
 * slave, pidfd, cgroup file), no zombie and no cgroup behind.
 */
import fs from 'node:fs'
import path from 'node:path'
import { setImmediate as tick } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { dataFrame } from '../../../src/pty/wire.js'
import { createPty, PtyClient, type Created } from '../../helpers/pty.js'
import { startServer, type TestServer } from '../../helpers/server.js'
import { openFds, zombieChildren } from '../../helpers/system.js'

let ts: TestServer

beforeAll(async () => {
  // No pool of prepared cgroups: after the last session none may remain.
  ts = await startServer({}, { cgroup: { poolSize: 0 }, drainGrace: 300 })
})

afterAll(async () => {
  await ts.close()
})

/** Non-socket fds with their targets (HTTP keep-alive sockets come and go with fetch's pool). */
function fileFds(): string[] {
  return openFds()
    .map((fd) => {
      try {
        return `${fd} -> ${fs.readlinkSync(`/proc/self/fd/${fd}`)}`
      } catch {
        return null
      }
    })
    .filter((l): l is string => l !== null && !l.includes('socket:['))
}

/** The per-session cgroup's parent: this supervisor's own cgroup directory. */
function supervisorCgroup(pid: number): string {
  const line = fs
    .readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => /:memory:/.test(l) || l.startsWith('0::'))
  const rel = (line ?? '').split(':')[2]
  const root = fs.existsSync('/sys/fs/cgroup/memory') ? '/sys/fs/cgroup/memory' : '/sys/fs/cgroup'
  return path.dirname(path.join(root, rel))
}

function subdirs(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick()
}

describe('PTY session limits and leaks', () => {
  it('the 65th live session gets 429 TOO_MANY_SESSIONS; a slot frees after an exit', async () => {
    const live: Created[] = []
    for (let i = 0; i < 64; i += 16)
      live.push(...(await Promise.all(Array.from({ length: 16 }, () => createPty(ts, { command: 'cat' })))))
    const refused = await ts.api('/pty', { method: 'POST', body: { command: 'cat' } })
    expect(refused.status).toBe(429)
    expect(await refused.json()).toMatchObject({ code: 'TOO_MANY_SESSIONS' })
    const c = await PtyClient.attach(ts, live[0])
    c.send(dataFrame('\x04'))
    expect(await c.closed).toEqual({ code: 1000, reason: 'exit:0' })
    const again = await createPty(ts, { command: 'cat' })
    live.push(again)
    for (const s of live) expect((await ts.api(`/pty/${s.session_id}`, { method: 'DELETE' })).status).toBe(204)
  })

  it('200 sessions opened and closed leave no fd, zombie or cgroup behind', async () => {
    const warm = await createPty(ts, { command: 'sh', args: ['-c', 'read x'] })
    const cgroupDir = supervisorCgroup(warm.pid)
    await ts.api(`/pty/${warm.session_id}`, { method: 'DELETE' })
    await settle()
    const before = fileFds()
    for (let start = 0; start < 200; start += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, k) => {
          const i = start + k
          // Half end by themselves and are read to the end, half are deleted while running.
          const s = await createPty(ts, { command: 'sh', args: ['-c', i % 2 === 0 ? 'echo done' : 'sleep 1000'] })
          if (i % 2 === 0) {
            const c = await PtyClient.attach(ts, s)
            expect(await c.closed).toEqual({ code: 1000, reason: 'exit:0' })
          }
          expect((await ts.api(`/pty/${s.session_id}`, { method: 'DELETE' })).status).toBe(204)
        }),
      )
    }
    expect((await (await ts.api('/pty')).json()) as unknown).toEqual({ sessions: [] })
    await settle()
    expect(fileFds()).toEqual(before)
    expect(zombieChildren()).toEqual([])
    // Cgroups are removed right after each exit is delivered, asynchronously.
    while (subdirs(cgroupDir).length > 0) await tick()
    expect(subdirs(cgroupDir)).toEqual([])
  })
})
