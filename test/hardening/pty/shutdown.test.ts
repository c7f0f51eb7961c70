/**
 * Shutdown with PTY clients that do not cooperate (docs/pty.md): no socket outlives it,
 * whatever state its close handshake is in, and during the kill grace a session whose
 * client has stalled stays paused, so the server does not grow.
 */
import type { Duplex } from 'node:stream'
import { describe, expect, it } from 'vitest'

import { DEFAULT_PTY_HOLD_BYTES } from '../../../src/server/pty/channel.js'
import { dataFrame, MAX_PTY_FRAME } from '../../../src/pty/wire.js'
import { ptySessionsOf } from '../../../src/server/pty/socket.js'
import { shutdown } from '../../../src/server/server.js'
import { DEFAULT_HIGH_WATER_MARK } from '../../../src/server/sse/streams.js'
import { createPty, entryOf, PtyClient, until } from '../../helpers/pty.js'
import { startServer, type TestServer } from '../../helpers/server.js'
import { isDead } from '../../helpers/system.js'

/** The server's side of every upgraded connection, as the HTTP server handed it over. */
function upgradedSockets(ts: TestServer): Duplex[] {
  const sockets: Duplex[] = []
  ts.server.on('upgrade', (_req, socket: Duplex) => sockets.push(socket))
  return sockets
}

describe('PTY shutdown', () => {
  it('cuts a client that stopped reading after its exit frame, and one left closing by a takeover, once the supervisor is closed', async () => {
    const ts = await startServer({}, { killGrace: 200, drainGrace: 100 })
    const sockets = upgradedSockets(ts)
    const s = await createPty(ts, { command: 'sh', args: ['-c', 'read x; exit 3'] })
    const { session } = entryOf(ts, s.session_id)
    const c = await PtyClient.attach(ts, s)
    c.raw.pause()
    c.send(dataFrame('go\n'))
    // The exit frame and the close are sent; the client never reads them, so never answers.
    await session.exited
    // A second session whose first client is replaced while it does not read.
    const t = await createPty(ts, { command: 'cat' })
    const old = await PtyClient.attach(ts, t)
    old.raw.pause()
    const next = await PtyClient.attach(ts, t)
    expect(sockets).toHaveLength(3)
    const done = shutdown(ts.server)
    await ts.sup.close()
    // shutdown's own continuation after the supervisor ran first: every socket is cut now,
    // not when `ws` gives up on the close handshake (30 s).
    expect(sockets.map((x) => x.destroyed)).toEqual([true, true, true])
    await done
    // Each is forgotten at its `close` event, which `ws` emits a moment after the socket's.
    await until(() => ptySessionsOf(ts.server)?.sockets === 0)
    c.raw.resume()
    old.raw.resume()
    await Promise.all([c.closed, old.closed, next.closed])
    expect(c.exitCode()).toBe(3)
  })

  it('a SIGTERM-ignoring program writing to a stalled client stays paused through the kill grace', async () => {
    const ts = await startServer({}, { killGrace: 500, drainGrace: 100 })
    const s = await createPty(ts, { command: 'sh', args: ['-c', "trap '' TERM HUP; exec yes"] })
    const { session, channel } = entryOf(ts, s.session_id)
    const c = await PtyClient.attach(ts, s)
    c.raw.pause()
    await until(() => channel.paused)
    let most = 0
    session.on('data', () => (most = Math.max(most, channel.unsent)))
    const rss0 = process.memoryUsage().rss
    await shutdown(ts.server)
    expect(isDead(s.pid)).toBe(true)
    // Unsent output never passes the high-water mark by more than what one read adds.
    expect(most).toBeLessThanOrEqual(DEFAULT_HIGH_WATER_MARK + 2 * MAX_PTY_FRAME)
    expect(channel.scrollbackBytes).toBeLessThanOrEqual(DEFAULT_PTY_HOLD_BYTES)
    expect(process.memoryUsage().rss - rss0).toBeLessThan(64 * 1024 * 1024)
    c.raw.resume()
    await c.closed
  })
})
