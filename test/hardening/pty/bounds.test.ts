/**
 * Terminal input has a bound (docs/pty.md): a program that never reads stdin makes the
 * server stop reading the client's socket once 1 MiB of input waits for it, rather than
 * queue whatever the client sends; DELETE frees what was queued.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { PTY_INPUT_BYTES } from '../../../src/server/pty/channel.js'
import { dataFrame, MAX_PTY_FRAME } from '../../../src/pty/wire.js'
import { createPty, entryOf, PtyClient, until } from '../../helpers/pty.js'
import { startServer, type TestServer } from '../../helpers/server.js'
import { stat } from '../../helpers/system.js'

const MiB = 1024 * 1024

let ts: TestServer

beforeAll(async () => {
  ts = await startServer({}, { drainGrace: 300 })
})

afterAll(async () => {
  await ts.close()
})

describe('PTY input', () => {
  it('64 MiB sent to sleep: past 1 MiB queued the socket is paused and nothing more is taken; DELETE frees it', async () => {
    const s = await createPty(ts, { command: 'sleep', args: ['1000'] })
    const { session, channel } = entryOf(ts, s.session_id)
    const c = await PtyClient.attach(ts, s)
    const frame = dataFrame(Buffer.alloc(MAX_PTY_FRAME - 1, 0x61))
    const total = 64 * MiB
    // The client's own flow control: at most 1 MiB in flight, so that what the server
    // does not take stays in the kernel and the client's socket, not in this process.
    let accepted = 0
    let inflight = 0
    const stalled = (): boolean => channel.inputPaused && c.raw.writableLength > 0
    while (accepted < total && !stalled()) {
      if (inflight < MiB) {
        inflight += frame.length
        c.ws.send(frame, { binary: true }, () => {
          inflight -= frame.length
          accepted += frame.length
        })
      } else await until(() => inflight < MiB || stalled())
    }
    // What the server took is the bound plus what the kernel's socket buffers hold.
    expect(accepted).toBeLessThan(total / 4)
    expect(session.writableLength).toBeGreaterThan(PTY_INPUT_BYTES)
    expect(session.writableLength).toBeLessThanOrEqual(PTY_INPUT_BYTES + 4 * MAX_PTY_FRAME)
    expect((await ts.api(`/pty/${s.session_id}`, { method: 'DELETE' })).status).toBe(204)
    expect(session.writableLength).toBe(0)
    // The socket was resumed for the close: the rest of the input is read and dropped.
    expect(await c.closed).toEqual({ code: 1000, reason: 'session terminated' })
  })

  it('a socket paused for input is not cut by the keep-alive (its pongs wait in it too)', async () => {
    const pinging = await startServer({ ptyPingMs: 50 })
    const s = await createPty(pinging, { command: 'sleep', args: ['1000'] })
    const { channel } = entryOf(pinging, s.session_id)
    const c = await PtyClient.attach(pinging, s)
    const frame = dataFrame(Buffer.alloc(MAX_PTY_FRAME - 1, 0x61))
    while (!channel.inputPaused) {
      c.send(frame)
      await until(() => c.raw.writableLength === 0 || channel.inputPaused)
    }
    // Pings still go out while the server does not read; three of them span two checks.
    let pings = 0
    await new Promise<void>((resolve, reject) => {
      c.ws.on('ping', () => ++pings === 3 && resolve())
      c.ws.once('close', (code) => reject(new Error(`cut with ${code} after ${pings} pings`)))
    })
    expect(c.ws.readyState).toBe(c.ws.OPEN)
    expect(channel.inputPaused).toBe(true)
    expect((await pinging.api(`/pty/${s.session_id}`, { method: 'DELETE' })).status).toBe(204)
    expect(await c.closed).toEqual({ code: 1000, reason: 'session terminated' })
    await pinging.close()
  })

  it('input waiting past the bound goes through whole and in order once the program reads', async () => {
    // The shell stops itself before reading: every byte sent waits, then flows.
    const s = await createPty(ts, {
      command: 'sh',
      args: ['-c', 'stty raw -echo; kill -STOP $$; head -c 4194304 | sha256sum; exit 3'],
    })
    const { channel } = entryOf(ts, s.session_id)
    const c = await PtyClient.attach(ts, s)
    await until(() => stat(s.pid)?.state === 'T')
    const input = Buffer.alloc(4 * MiB)
    for (let i = 0; i < input.length; i++) input[i] = 0x30 + (i % 61)
    for (let at = 0; at < input.length; at += MAX_PTY_FRAME - 1)
      c.send(dataFrame(input.subarray(at, at + MAX_PTY_FRAME - 1)))
    await until(() => channel.inputPaused)
    process.kill(s.pid, 'SIGCONT')
    expect(await c.closed).toEqual({ code: 1000, reason: 'exit:3' })
    expect(c.text()).toContain(createHash('sha256').update(input).digest('hex'))
  })
})
