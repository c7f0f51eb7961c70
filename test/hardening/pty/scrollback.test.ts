/**
 * The scrollback of a PTY session (docs/pty.md): every client that attaches, first or
 * again, gets the most recent output (up to 1 MiB), then live output, then the exit
 * frame, so a client that vanishes loses nothing the next one cannot see.
 */
import type { Duplex } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { DEFAULT_PTY_HOLD_BYTES } from '../../../src/server/pty/channel.js'
import { dataFrame, READY_FRAME } from '../../../src/pty/wire.js'
import { createPty, entryOf, PtyClient, until, type Created } from '../../helpers/pty.js'
import { startServer, type TestServer } from '../../helpers/server.js'

let ts: TestServer

beforeAll(async () => {
  ts = await startServer({}, { drainGrace: 300 })
})

afterAll(async () => {
  await ts.close()
})

const sh = (script: string): Promise<Created> => createPty(ts, { command: 'sh', args: ['-c', script] })

/** `seq 1 n` as the terminal writes it. */
function seq(n: number): string {
  let out = ''
  for (let i = 1; i <= n; i++) out += `${i}\r\n`
  return out
}

describe('PTY scrollback', () => {
  it('a stalled client that vanishes: the next one gets the whole output, tail included, then the exit frame', async () => {
    const s = await sh('seq 1 100000; exit 7')
    const { session, channel } = entryOf(ts, s.session_id)
    // Ready, then it reads nothing: what it was sent sits in its socket, unread.
    const c1 = new PtyClient(PtyClient.url(ts, s.session_id, s.token))
    await c1.opened
    c1.raw.pause()
    c1.send(READY_FRAME)
    await until(() => channel.paused || !session.running)
    c1.ws.terminate()
    await c1.closed
    await session.exited
    const c2 = await PtyClient.attach(ts, s)
    expect(await c2.closed).toEqual({ code: 1000, reason: 'exit:7' })
    expect(c2.text()).toBe(seq(100000))
    expect(c2.frames[c2.frames.length - 1]).toEqual(Buffer.from([3, 0, 0, 0, 7]))
  })

  it('what a vanished client was sent but its socket never took is kept for the next one, however much follows', async () => {
    const s = await sh('seq 1 1000000')
    const { session, channel } = entryOf(ts, s.session_id)
    let read = 0
    session.on('data', (b: Buffer) => (read += b.length))
    // What the server's socket had taken of the output when it closed: the rest never left.
    let taken: number | null = null
    ts.server.once('upgrade', (_req, socket: Duplex) => socket.once('close', () => (taken = read - channel.unsent)))
    const c1 = new PtyClient(PtyClient.url(ts, s.session_id, s.token))
    await c1.opened
    c1.raw.pause()
    c1.send(READY_FRAME)
    // Past the high-water mark: the rest of what was sent waits in the server's socket.
    await until(() => channel.paused)
    c1.ws.terminate()
    await until(() => taken !== null)
    // More than the scrollback's size follows before anyone comes back.
    await until(() => channel.heldBytes >= DEFAULT_PTY_HOLD_BYTES)
    const c2 = await PtyClient.attach(ts, s)
    expect(await c2.closed).toEqual({ code: 1000, reason: 'exit:0' })
    const full = seq(1000000)
    const got = c2.text()
    expect(full.endsWith(got)).toBe(true)
    expect(full.length - got.length).toBeLessThanOrEqual(taken as unknown as number)
  })

  it('a client that detaches and comes back gets the scrollback, then live output', async () => {
    const s = await createPty(ts, { command: 'cat' })
    const c1 = await PtyClient.attach(ts, s)
    c1.send(dataFrame('hello\n'))
    await c1.untilText(/^hello\r\nhello\r\n$/)
    c1.ws.close()
    await c1.closed
    const c2 = await PtyClient.attach(ts, s)
    await c2.untilText(/^hello\r\nhello\r\n$/)
    c2.send(dataFrame('again\n'))
    await c2.untilText(/^hello\r\nhello\r\nagain\r\nagain\r\n$/)
    c2.send(dataFrame('\x04'))
    expect(await c2.closed).toEqual({ code: 1000, reason: 'exit:0' })
    expect(c2.frames[c2.frames.length - 1]).toEqual(Buffer.from([3, 0, 0, 0, 0]))
  })

  it('is bounded: after 3 MB read by one client, the next gets exactly the last 1 MiB, then the exit frame', async () => {
    const s = await sh('head -c 3000000 /dev/zero | tr "\\0" a; echo; echo END; exit 5')
    const c1 = await PtyClient.attach(ts, s)
    expect(await c1.closed).toEqual({ code: 1000, reason: 'exit:5' })
    const all = c1.data()
    expect(all.length).toBe(3_000_000 + 2 + 5)
    const c2 = await PtyClient.attach(ts, s)
    expect(await c2.closed).toEqual({ code: 1000, reason: 'exit:5' })
    expect(c2.data().length).toBe(DEFAULT_PTY_HOLD_BYTES)
    expect(c2.data().equals(all.subarray(all.length - DEFAULT_PTY_HOLD_BYTES))).toBe(true)
    expect(entryOf(ts, s.session_id).channel.scrollbackBytes).toBe(DEFAULT_PTY_HOLD_BYTES)
    expect(c2.frames[c2.frames.length - 1]).toEqual(Buffer.from([3, 0, 0, 0, 5]))
  })

  it('output nobody was sent is never pushed out: detached past the scrollback, the program blocks and the next client loses nothing', async () => {
    const s = await sh('read x; head -c 3000000 /dev/zero | tr "\\0" b; echo; echo END')
    const { channel } = entryOf(ts, s.session_id)
    const c1 = await PtyClient.attach(ts, s)
    c1.ws.close()
    await c1.closed
    const c2 = await PtyClient.attach(ts, s, false)
    c2.send(dataFrame('go\n'))
    await until(() => channel.paused)
    expect(channel.heldBytes).toBeGreaterThanOrEqual(DEFAULT_PTY_HOLD_BYTES)
    c2.send(READY_FRAME)
    await c2.closed
    // What c2 gets: the echoed input, all 3 MB of b, END: nothing between was dropped.
    expect(c2.text()).toBe(`go\r\n${'b'.repeat(3_000_000)}\r\nEND\r\n`)
  })
})

describe('the scrollback of ended sessions', () => {
  it('is kept for no more than maxPtySessions × ptyHoldBytes in all, the most recently ended first', async () => {
    const small = await startServer({ maxPtySessions: 2, ptyHoldBytes: 4096 })
    const ended: Created[] = []
    for (const tag of ['a', 'b', 'c']) {
      const s = await createPty(small, {
        command: 'sh',
        args: ['-c', `head -c 5000 /dev/zero | tr "\\\\0" ${tag}; exit 2`],
      })
      const c = await PtyClient.attach(small, s)
      expect(await c.closed).toEqual({ code: 1000, reason: 'exit:2' })
      ended.push(s)
    }
    const got: string[] = []
    for (const s of ended) {
      const c = await PtyClient.attach(small, s)
      expect(await c.closed).toEqual({ code: 1000, reason: 'exit:2' })
      got.push(c.text())
    }
    // 2 × 4 KiB: b and c keep their last 4096 bytes, a (ended first) only its exit.
    expect(got).toEqual(['', 'b'.repeat(4096), 'c'.repeat(4096)])
    await small.close()
  })
})
