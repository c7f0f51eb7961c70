/**
 * PTY sessions through the server and a real WebSocket client (docs/protocol.md
 * "PTY sessions"): endpoints, session info, frames, holding output, takeover, the end
 * order, DELETE, the limits.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { ptySessionsOf } from '../../../src/server/pty/socket.js'
import { shutdown } from '../../../src/server/server.js'
import { dataFrame, READY_FRAME, resizeFrame } from '../../../src/pty/wire.js'
import { createPty, PtyClient, type Created } from '../../helpers/pty.js'
import { startServer, TOKEN, type TestServer } from '../../helpers/server.js'
import { account, isDead, untilDead } from '../../helpers/system.js'

let ts: TestServer

beforeAll(async () => {
  ts = await startServer({}, { drainGrace: 300 })
})

afterAll(async () => {
  await ts.close()
})

const sh = (script: string, extra: Record<string, unknown> = {}): Promise<Created> =>
  createPty(ts, { command: 'sh', args: ['-c', script], ...extra })
const channelOf = (id: string) => {
  const entry = ptySessionsOf(ts.server)?.get(id)
  if (entry === undefined) throw new Error(`no session ${id}`)
  return entry.channel
}

describe('endpoints', () => {
  it('POST creates (201 session_id, token, pid); GET lists and gets PtySessionInfo', async () => {
    const s = await sh('cat', { rows: 30, cols: 90 })
    expect(s.token).toMatch(/^[A-Za-z0-9_-]{20,}$/)
    expect(s.pid).toBeGreaterThan(0)
    const info = await (await ts.api(`/pty/${s.session_id}`)).json()
    expect(info).toEqual({
      session_id: s.session_id,
      pid: s.pid,
      command: 'sh',
      args: ['-c', 'cat'],
      rows: 30,
      cols: 90,
      created_at: expect.any(Number),
      ended_at: null,
      exit_code: null,
      signal: null,
      oom_killed: false,
      is_alive: true,
      reason: null,
    })
    const list = (await (await ts.api('/pty')).json()) as { sessions: Array<{ session_id: string }> }
    expect(list.sessions.map((x) => x.session_id)).toContain(s.session_id)
    expect((await ts.api(`/pty/${s.session_id}`, { method: 'DELETE' })).status).toBe(204)
    expect((await ts.api(`/pty/${s.session_id}`)).status).toBe(404)
  })

  it('needs the bearer token; a bad request is 400 naming the field; a missing program 422', async () => {
    expect((await ts.api('/pty', { method: 'POST', body: { command: 'true' }, token: null })).status).toBe(401)
    const bad = await ts.api('/pty', { method: 'POST', body: { command: 'true', rows: 501 } })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ code: 'INVALID_REQUEST', error: expect.stringContaining('rows') })
    const missing = await ts.api('/pty', { method: 'POST', body: { command: '/no/such/prog' } })
    expect(missing.status).toBe(422)
    expect(await missing.json()).toMatchObject({ code: 'SPAWN_FAILED', errno: 'ENOENT', syscall: 'execve' })
  })

  it('stty size follows a resize frame and POST /resize; trap WINCH fires; resize after the end is 400', async () => {
    const s = await sh('trap "echo WINCH; stty size" WINCH; stty size; while :; do sleep 0.05; done', {
      rows: 20,
      cols: 70,
    })
    const c = await PtyClient.attach(ts, s)
    await c.untilText(/^20 70\r\n/)
    c.send(resizeFrame(132, 43))
    await c.untilText(/WINCH\r\n43 132\r\n/)
    expect(
      (await ts.api(`/pty/${s.session_id}/resize`, { method: 'POST', body: { rows: 50, cols: 160 } })).status,
    ).toBe(204)
    await c.untilText(/WINCH\r\n50 160\r\n/)
    expect(await (await ts.api(`/pty/${s.session_id}`)).json()).toMatchObject({ rows: 50, cols: 160 })
    expect((await ts.api(`/pty/${s.session_id}/resize`, { method: 'POST', body: { rows: 0, cols: 160 } })).status).toBe(
      400,
    )
    c.send(dataFrame('\x03'))
    await c.closed
    expect(c.exitCode()).toBe(130)
    const after = await ts.api(`/pty/${s.session_id}/resize`, { method: 'POST', body: { rows: 10, cols: 10 } })
    expect(after.status).toBe(400)
    expect(await after.json()).toMatchObject({ code: 'PROCESS_NOT_RUNNING' })
  })
})

describe('frames and the end', () => {
  it('terminal, session leader, IUTF8; Ctrl-C interrupts and the shell lives; exit code in 0x03 and the close', async () => {
    const s = await createPty(ts, { command: 'sh', args: ['-i'], env: { PS1: '$ ' } })
    const c = await PtyClient.attach(ts, s)
    await c.untilText(/\$ $/)
    c.send(dataFrame('tty; stty -a | grep -o " iutf8"; awk \'{print ($6 == $1) ? "leader" : "not"}\' /proc/$$/stat\n'))
    await c.untilText(/\/dev\/pts\/\d+\r\n iutf8\r\nleader\r\n/)
    c.send(dataFrame('sleep 1000\n'))
    // Until sleep itself runs: the shell's forked child takes the terminal before it
    // resets its SIGINT handler and execs, and a Ctrl-C in that window is lost.
    while (!runs(foreground(s.pid), 'sleep')) await new Promise((r) => setImmediate(r))
    c.send(dataFrame('\x03'))
    c.send(dataFrame('echo alive $((40+2))\n'))
    await c.untilText(/alive 42/)
    c.send(dataFrame('exit 5\n'))
    expect(await c.closed).toEqual({ code: 1000, reason: 'exit:5' })
    const exitAt = c.frames.findIndex((f) => f[0] === 3)
    expect(exitAt).toBe(c.frames.length - 1)
    expect(c.exitCode()).toBe(5)
    expect(await (await ts.api(`/pty/${s.session_id}`)).json()).toMatchObject({
      exit_code: 5,
      signal: null,
      is_alive: false,
      reason: 'exited',
      ended_at: expect.any(Number),
    })
  })

  it('Ctrl-D ends cat; a signal death is 128 + N', async () => {
    const s = await createPty(ts, { command: 'cat' })
    const c = await PtyClient.attach(ts, s)
    c.send(dataFrame('\x04'))
    expect(await c.closed).toEqual({ code: 1000, reason: 'exit:0' })
    const k = await sh('kill -KILL $$')
    const ck = await PtyClient.attach(ts, k)
    expect(await ck.closed).toEqual({ code: 1000, reason: 'exit:137' })
  })

  it('5 MB base64 then exit 3 arrives whole before 0x03, nothing after it, 10 times', async () => {
    const file = `${fs.mkdtempSync('/tmp/sandproc-pty-')}/random`
    fs.writeFileSync(file, Buffer.from(Array.from({ length: 5_000_000 }, () => Math.floor(Math.random() * 256))))
    const b64 = fs.readFileSync(file).toString('base64')
    let expected = ''
    for (let i = 0; i < b64.length; i += 76) expected += `${b64.slice(i, i + 76)}\r\n`
    const want = createHash('sha256').update(expected).digest('hex')
    for (let i = 0; i < 10; i++) {
      const s = await sh(`base64 ${file}; exit 3`)
      const c = await PtyClient.attach(ts, s)
      const closed = await c.closed
      const last = c.frames[c.frames.length - 1]
      expect({ i, closed, last: [...last], digest: createHash('sha256').update(c.data()).digest('hex') }).toEqual({
        i,
        closed: { code: 1000, reason: 'exit:3' },
        last: [3, 0, 0, 0, 3],
        digest: want,
      })
    }
    fs.rmSync(file)
  })

  it('output before READY and while detached is held; a (re)connecting client gets the scrollback, then live output; after the end: the scrollback, 0x03, close', async () => {
    const s = await sh('echo before-ready; read x; echo "got $x"; read y; echo "then $y"; exit 4')
    const c1 = await PtyClient.attach(ts, s, false)
    // Not ready: nothing may come yet, but the program runs and its output is held.
    await until(() => channelOf(s.session_id).heldBytes > 0)
    expect(c1.frames).toEqual([])
    c1.send(READY_FRAME)
    await c1.untilText(/before-ready\r\n/)
    c1.ws.close()
    await c1.closed
    // Detached: input is impossible over the socket, so write through a new one, drop it unread.
    const c2 = await PtyClient.attach(ts, s, false)
    c2.send(dataFrame('one\n'))
    await until(() => channelOf(s.session_id).heldBytes >= 'one\r\ngot one\r\n'.length)
    c2.ws.close()
    await c2.closed
    // The scrollback: what c1 saw too, then what was held while nobody was attached.
    const c3 = await PtyClient.attach(ts, s)
    await c3.untilText(/^before-ready\r\none\r\ngot one\r\n$/)
    c3.send(dataFrame('two\n'))
    await c3.closed
    // After the end: a new client gets the scrollback, 0x03 and the close.
    const c4 = await PtyClient.attach(ts, s)
    expect(await c4.closed).toEqual({ code: 1000, reason: 'exit:4' })
    expect(c4.text()).toBe('before-ready\r\none\r\ngot one\r\ntwo\r\nthen two\r\n')
    expect(c4.frames[c4.frames.length - 1]).toEqual(Buffer.from([3, 0, 0, 0, 4]))
  })

  it('a session that ended before any client: the next one gets the held output, 0x03 and the close at once', async () => {
    const s = await sh('echo early; exit 2')
    while (((await (await ts.api(`/pty/${s.session_id}`)).json()) as { is_alive: boolean }).is_alive)
      await new Promise((r) => setImmediate(r))
    const c = await PtyClient.attach(ts, s)
    expect(await c.closed).toEqual({ code: 1000, reason: 'exit:2' })
    expect(c.frames.map((f) => [...f])).toEqual([
      [0, ...Buffer.from('early\r\n')],
      [3, 0, 0, 0, 2],
    ])
  })

  it('past 1 MiB held the terminal is no longer read: the program blocks, then loses nothing', async () => {
    const s = await sh('head -c 3000000 /dev/zero | tr "\\0" a; echo; echo END')
    const ch = channelOf(s.session_id)
    await until(() => ch.paused)
    expect(ch.heldBytes).toBeGreaterThanOrEqual(1024 * 1024)
    expect(ch.heldBytes).toBeLessThan(1024 * 1024 + 64 * 1024)
    // tr is blocked in write(2) on the terminal (syscall 1 on fd 1), not merely slow.
    const tr = fs
      .readFileSync(`/proc/${s.pid}/task/${s.pid}/children`, 'utf8')
      .trim()
      .split(' ')
      .map(Number)
      .find((p) => fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'tr')
    expect(tr).toBeDefined()
    await until(() => /^1 0x1 /.test(fs.readFileSync(`/proc/${tr}/syscall`, 'utf8')))
    expect(ch.heldBytes).toBeLessThan(1024 * 1024 + 64 * 1024)
    const c = await PtyClient.attach(ts, s)
    await c.closed
    expect(c.data().length).toBe(3_000_000 + 2 + 5)
    expect(c.text().endsWith('\r\nEND\r\n')).toBe(true)
  })

  it('shutdown ends a session whose held output nobody reads (it must not wait for a reader)', async () => {
    const other = await startServer({}, { killGrace: 100, drainGrace: 100 })
    const s = await createPty(other, {
      command: 'sh',
      args: ['-c', "trap '' TERM HUP; head -c 3000000 /dev/zero | tr '\\0' a; sleep 1000"],
    })
    const ch = ptySessionsOf(other.server)?.get(s.session_id)?.channel
    await until(() => ch?.paused === true)
    await shutdown(other.server)
    expect(isDead(s.pid)).toBe(true)
  })

  it('a stalled client keeps the server bounded while yes runs', async () => {
    const s = await createPty(ts, { command: 'yes' })
    const c = await PtyClient.attach(ts, s)
    const ch = channelOf(s.session_id)
    const rss0 = process.memoryUsage().rss
    // Stop reading the TCP socket: the kernel buffers fill, then ws's queue, then the server pauses.
    const raw = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket
    for (let round = 0; round < 5; round++) {
      raw.pause()
      await until(() => ch.paused)
      expect(ch.unsent).toBeLessThan(64 * 1024 + 64 * 1024)
      raw.resume()
      await until(() => !ch.paused)
    }
    raw.pause()
    await until(() => ch.paused)
    expect(process.memoryUsage().rss - rss0).toBeLessThan(64 * 1024 * 1024)
    raw.resume()
    expect((await ts.api(`/pty/${s.session_id}`, { method: 'DELETE' })).status).toBe(204)
  })

  it('a new connection takes over: the old one is closed with 1008 "replaced"', async () => {
    const s = await createPty(ts, { command: 'cat' })
    const c1 = await PtyClient.attach(ts, s)
    const c2 = await PtyClient.attach(ts, s)
    expect(await c1.closed).toEqual({ code: 1008, reason: 'replaced' })
    c2.send(dataFrame('hi\n'))
    await c2.untilText(/hi\r\nhi\r\n/)
    c2.send(dataFrame('\x04'))
    expect(await c2.closed).toEqual({ code: 1000, reason: 'exit:0' })
  })

  it('DELETE kills the tree, a setsid grandchild included, and closes with 1000 "session terminated", no 0x03', async () => {
    const s = await sh('setsid sleep 1000 & echo "gc $!"; sleep 1000')
    const c = await PtyClient.attach(ts, s)
    await c.untilText(/gc \d+\r\n/)
    const gc = Number(/gc (\d+)/.exec(c.text())?.[1])
    expect((await ts.api(`/pty/${s.session_id}`, { method: 'DELETE' })).status).toBe(204)
    expect(isDead(s.pid)).toBe(true)
    await untilDead(gc)
    expect(await c.closed).toEqual({ code: 1000, reason: 'session terminated' })
    expect(c.frames.some((f) => f[0] === 3)).toBe(false)
    expect((await ts.api(`/pty/${s.session_id}`)).status).toBe(404)
  })
})

describe('credentials and limits over the API', () => {
  it('user gives that uid and gid and the terminal belongs to it; only fds 0-2 are open', async () => {
    const nobody = account('nobody')
    // No pipeline into ls: while the shell sets one up it holds the pipe's fds itself.
    const s = await sh('id -u; id -g; stat -c %u $(tty); ls -1 /proc/$$/fd', { user: 'nobody' })
    const c = await PtyClient.attach(ts, s)
    expect(await c.closed).toEqual({ code: 1000, reason: 'exit:0' })
    const [uid, gid, owner, ...fds] = c.text().split('\r\n')
    expect([Number(uid), Number(gid), Number(owner)]).toEqual([nobody?.uid, nobody?.gid, nobody?.uid])
    expect(fds.filter((l) => l !== '')).toEqual(['0', '1', '2'])
  })

  it('a memory hog with memory_limit: exit frame 137 and oom_killed in PtySessionInfo', async () => {
    const hog = 'b = []\nfor i in range(1024):\n    b.append(bytearray(1 << 20))\nraise SystemExit(42)'
    const s = await createPty(ts, { command: 'python3', args: ['-c', hog], memory_limit: '64M' })
    const c = await PtyClient.attach(ts, s)
    expect(await c.closed).toEqual({ code: 1000, reason: 'exit:137' })
    expect(await (await ts.api(`/pty/${s.session_id}`)).json()).toMatchObject({
      signal: 9,
      oom_killed: true,
      exit_code: null,
      is_alive: false,
    })
  })
})

describe('the socket', () => {
  it("refuses wrong, missing and other sessions' tokens, in the header and the query; Host may be anything", async () => {
    const a = await createPty(ts, { command: 'cat' })
    const b = await createPty(ts, { command: 'cat' })
    const base = PtyClient.url(ts, a.session_id)
    const status = async (url: string, headers?: Record<string, string>): Promise<number> => {
      const c = new PtyClient(url, { headers })
      try {
        await c.opened
        c.ws.close()
        return 101
      } catch (err) {
        return (err as { status: number }).status
      }
    }
    expect(await status(base)).toBe(401)
    expect(await status(`${base}?token=wrong`)).toBe(401)
    expect(await status(`${base}?token=${b.token}`)).toBe(401)
    expect(await status(base, { 'X-PTY-Token': b.token })).toBe(401)
    expect(await status(base, { 'X-PTY-Token': 'wrong' })).toBe(401)
    expect(await status(`${base}?token=${a.token}`, { 'X-PTY-Token': b.token })).toBe(401)
    expect(await status(base, { Authorization: `Bearer ${TOKEN}` })).toBe(401)
    expect(await status(PtyClient.url(ts, 'nosuch', a.token))).toBe(404)
    expect(await status(`${base}?token=${a.token}`, { 'X-PTY-Token': a.token, Host: `${'sbx'}.local` })).toBe(101)
    expect(await status(base, { 'X-PTY-Token': a.token })).toBe(101)
    for (const s of [a, b]) await ts.api(`/pty/${s.session_id}`, { method: 'DELETE' })
  })

  it('oversized frames (1009), unknown opcodes and short resizes (1008) close the socket; the session survives', async () => {
    const s = await createPty(ts, { command: 'cat' })
    const cases: Array<[Buffer, number]> = [
      [dataFrame(Buffer.alloc(64 * 1024)), 1009],
      [Buffer.from([0x09, 1, 2]), 1008],
      [Buffer.from([0x01, 0, 80]), 1008],
      [Buffer.alloc(0), 1008],
    ]
    for (const [frame, code] of cases) {
      const c = await PtyClient.attach(ts, s)
      c.send(frame)
      expect((await c.closed).code).toBe(code)
    }
    const c = await PtyClient.attach(ts, s)
    c.send(dataFrame('still here\n'))
    await c.untilText(/still here\r\nstill here\r\n/)
    c.send(dataFrame('\x04'))
    expect(await c.closed).toEqual({ code: 1000, reason: 'exit:0' })
  })

  it('pings the client and cuts one that stops answering', async () => {
    const pinging = await startServer({ ptyPingMs: 100 })
    const s = await createPty(pinging, { command: 'cat' })
    const c = await PtyClient.attach(pinging, s)
    await new Promise<void>((resolve) => c.ws.once('ping', () => resolve()))
    // A client that no longer answers pings (its pong handler gone, auto-pong off) is cut.
    const silent = new PtyClient(PtyClient.url(pinging, s.session_id, s.token), { autoPong: false })
    await silent.opened
    expect((await silent.closed).code).toBe(1006)
    expect(await (await pinging.api(`/pty/${s.session_id}`)).json()).toMatchObject({ is_alive: true })
    await pinging.api(`/pty/${s.session_id}`, { method: 'DELETE' })
    await pinging.close()
  })
})

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r))
}

function runs(pid: number, comm: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm
  } catch {
    return false
  }
}

function foreground(pid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[5])
}
