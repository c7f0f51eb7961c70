/**
 * `run` streams across a live upgrade of `sandproc serve` (docs/upgrade.md "What clients
 * see"): a client that reads sees one unbroken stream on its one connection, ending in
 * the right exit frame, and its connection serves the next request; a client that stopped
 * reading is cut, and its process is killed as a client that went away.
 */
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { api, serve, untilExited } from '../helpers/served.js'
import { getOn, runStream } from '../helpers/served-clients.js'

describe('sandproc serve: run streams across SIGUSR2', () => {
  it('a reading client sees one unbroken stream on one connection across two swaps, then the connection serves on', async () => {
    const s = await serve()
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    // Chatty until the new server serves, however long the swap takes, then 50 lines more.
    const go = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'run-stream-')), 'go')
    const script = `i=0; while [ ! -e ${go} ]; do i=$((i+1)); echo line $i; sleep 0.01; done; end=$((i+50)); while [ $i -lt $end ]; do i=$((i+1)); echo line $i; done; exit 7`
    let lines = 0
    let seen!: () => void
    const twenty = new Promise<void>((r) => (seen = r))
    const { done } = runStream(s, agent, { command: 'sh', args: ['-c', script] }, (f) => {
      if (typeof f.line === 'string' && ++lines === 20) seen()
    })
    await twenty
    // Twice: the second swap carries a stream the first one carried.
    for (let swap = 0; swap < 2; swap++) {
      const upgraded = s.line(/upgraded in place/)
      const listening = s.line(/listening on/)
      s.child.kill('SIGUSR2')
      expect(await upgraded).toMatch(/1 processes taken over/)
      await listening
    }
    fs.writeFileSync(go, '')
    const r = await done
    expect(r.complete).toBe(true)
    const [first, ...rest] = r.frames
    expect(first).toHaveProperty('pid')
    const exit = rest.pop()!
    expect(exit).toMatchObject({ exit_code: 7 })
    // Every line once, in order: none lost, none repeated across the swap.
    expect(rest.length).toBeGreaterThanOrEqual(70)
    expect(rest.map((f) => f.line)).toEqual(Array.from({ length: rest.length }, (_, i) => `line ${i + 1}`))
    // The same server, and the same connection answers the next request.
    expect(s.child.exitCode).toBeNull()
    const next = await getOn(s, agent, '/health')
    expect(next).toEqual({ status: 200, reused: true })
    agent.destroy()
  }, 300_000)

  it('a client that stopped reading is cut at the swap and its process killed as client_gone', async () => {
    const s = await serve()
    const agent = new http.Agent({ keepAlive: false })
    // Far more than the socket buffers and the stream's bound hold (75 MB), written at once;
    // finite, so that a stream that is not cut ends it with an exit.
    let paused!: (r: { pid: number; res: http.IncomingMessage }) => void
    const atStart = new Promise<{ pid: number; res: http.IncomingMessage }>((r) => (paused = r))
    const { done } = runStream(
      s,
      agent,
      { command: 'sh', args: ['-c', 'yes sandproc-line-of-output | head -n 3000000'] },
      (f, res) => {
        // Nothing more is read after the start frame.
        if (typeof f.pid !== 'number') return
        res.pause()
        paused({ pid: f.pid, res })
      },
    )
    const { pid, res } = await atStart
    const upgraded = s.line(/upgraded in place/)
    s.child.kill('SIGUSR2')
    await upgraded
    res.resume()
    const r = await done
    expect(r.complete).toBe(false)
    expect(await untilExited(s, pid)).toMatchObject({ status: 'signaled', killed_by: 'client_gone' })
    expect((await api(s, '/health')).status).toBe(200)
  }, 300_000)
})
