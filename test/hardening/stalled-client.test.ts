/**
 * A `run` client that stops reading (docs/bounds.md): it holds its process back, but not
 * a DELETE nor the server's shutdown. Once the supervisor has killed the tree, what the
 * pipes still hold is read whatever the client does, the exit comes, and shutdown cuts
 * the stalled response.
 */
import net from 'node:net'
import { describe, expect, it } from 'vitest'

import { shutdown } from '../../src/server/server.js'
import { alive, heldBack } from '../helpers/hardening.js'
import { requestText } from '../helpers/raw-http.js'
import { startServer, TOKEN, type TestServer } from '../helpers/server.js'

/** Writes forever and ignores SIGTERM (an ignored disposition survives exec). */
const STUBBORN_WRITER = { command: 'sh', args: ['-c', 'trap "" TERM; exec yes stalled-client-line'] }

/** A `run` whose client reads the start frame, then never reads again. */
async function stalledRun(s: TestServer): Promise<{ pid: number; socket: net.Socket }> {
  const { hostname, port } = new URL(s.url)
  const socket = net.connect(Number(port), hostname)
  socket.on('error', () => undefined)
  const body = JSON.stringify(STUBBORN_WRITER)
  socket.write(
    requestText(
      'POST',
      '/api/v1/processes/run',
      { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body,
    ),
  )
  const pid = await new Promise<number>((resolve) => {
    let text = ''
    const onData = (d: Buffer): void => {
      text += d.toString('latin1')
      const m = /"pid":(\d+)/.exec(text)
      if (m === null) return
      socket.off('data', onData)
      socket.pause()
      resolve(Number(m[1]))
    }
    socket.on('data', onData)
  })
  // The socket buffers are full and the stream's queue past its mark: the program blocks.
  await heldBack(pid)
  return { pid, socket }
}

describe('a run client that stopped reading', () => {
  it('DELETE answers 204 once the process has exited: not running, not counted', async () => {
    const s = await startServer()
    try {
      const { pid, socket } = await stalledRun(s)
      const del = await s.api(`/processes/${pid}`, { method: 'DELETE' })
      expect(del.status).toBe(204)
      const info = (await (await s.api(`/processes/${pid}`)).json()) as { status: string; signal: number }
      expect(info).toMatchObject({ status: 'signaled', signal: 9 })
      expect(await (await s.api('/info')).json()).toMatchObject({ running_processes: 0 })
      expect(alive(pid)).toBe(false)
      socket.destroy()
    } finally {
      await s.close()
    }
  })

  it('shutdown ends within the kill grace plus a second, the program killed', async () => {
    const killGrace = 1000
    const s = await startServer({}, { killGrace })
    const { pid, socket } = await stalledRun(s)
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    const t0 = performance.now()
    await shutdown(s.server)
    const elapsed = performance.now() - t0
    if (process.env.SANDPROC_REPORT)
      console.log(`shutdown with a stalled run client: ${elapsed.toFixed(0)} ms (kill grace ${killGrace} ms)`)
    expect(elapsed).toBeLessThan(killGrace + 1000)
    expect(alive(pid)).toBe(false)
    expect(s.sup.running).toBe(0)
    // The stalled response was cut, not left open.
    socket.resume()
    await closed
  })
})
