/**
 * PTY sessions across a live upgrade of `sandproc serve` (docs/upgrade.md): the CLI as a
 * child process, SIGUSR2, and each session's client closed with 1012, back with its token
 * to the same shell in the same server pid.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

import { dataFrame, resizeFrame } from '../../src/pty/wire.js'
import { runPhases } from '../helpers/phases.js'
import { attach, closedBy, upgrade } from '../helpers/served-clients.js'
import type { Created } from '../helpers/pty.js'
import { api as request, serve, type Served } from '../helpers/served.js'

async function api(s: Served, p: string, body?: object): Promise<Record<string, unknown>> {
  const res = await request(s, p, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) })
  expect(res.ok).toBe(true)
  return (await res.json()) as Record<string, unknown>
}

/** The server's fds on a pty master (`/dev/ptmx`). */
function masters(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === '/dev/ptmx'
    } catch {
      return false
    }
  }).length
}

function parentOf(pid: number): number {
  return Number(/PPid:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1])
}

async function untilEnded(s: Served, id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const i = await api(s, `/pty/${id}`)
    if (i.is_alive === false) return i
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('sandproc serve: PTY sessions across SIGUSR2', () => {
  it('keeps an attached shell: close 1012, reattach with the token, output, input, resize, exit code', async () => {
    const s = await serve()
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pty-handover-'))
    const during = path.join(dir, 'during')
    const after = path.join(dir, 'after')
    const created = (await api(s, '/pty', { command: 'sh', args: ['-i'], rows: 24, cols: 80 })) as unknown as Created
    const first = await attach(s, created)
    first.send(dataFrame('echo one-$((40+1))\n'))
    await first.untilText(/one-41/)
    // Prints while no client is attached (the swap), then once the new server serves.
    const job = [
      `while [ ! -e ${during} ]; do sleep 0.02; done; echo during-$((20+2))`,
      `while [ ! -e ${after} ]; do sleep 0.02; done; echo after-$((30+3))`,
    ].join('; ')
    first.send(dataFrame(`(${job}) &\n`))

    const mastersBefore = masters(s.child.pid!)
    const sent = performance.now()
    const outcome = upgrade(s)
    expect(await closedBy(first, outcome)).toMatchObject({ code: 1012 })
    const closedMs = performance.now() - sent
    fs.writeFileSync(during, '')
    expect(await outcome).toMatch(/upgraded in place, 0 processes and 1 PTY sessions taken over/)

    const again = await attach(s, created)
    await again.untilText(/during-22/)
    const backMs = performance.now() - sent
    console.log(
      `pty handover: signal to close 1012 ${closedMs.toFixed(0)} ms, to the reattached client's output ${backMs.toFixed(0)} ms`,
    )
    fs.writeFileSync(after, '')
    await again.untilText(/after-33/)
    again.send(dataFrame('echo typed-$((6*7))\n'))
    await again.untilText(/typed-42/)
    again.send(resizeFrame(100, 30))
    again.send(dataFrame('stty size\n'))
    await again.untilText(/30 100/)

    // The same shell, still the server's child, in the same server pid.
    expect(await api(s, `/pty/${created.session_id}`)).toMatchObject({ pid: created.pid, is_alive: true })
    expect(parentOf(created.pid)).toBe(s.child.pid)
    // The inherited master and the writer's copy of it, as before: none left behind.
    expect(masters(s.child.pid!)).toBe(mastersBefore)
    again.send(dataFrame('exit 3\n'))
    expect(await again.closed).toEqual({ code: 1000, reason: 'exit:3' })
    expect(again.exitCode()).toBe(3)
    expect(await untilEnded(s, created.session_id)).toMatchObject({ exit_code: 3, pid: created.pid })
  }, 300_000)

  it('reports the exit of a session that ends during the swap, and keeps one that ended before', async () => {
    const s = await serve()
    // Ends once its server is no longer the old program (the execve names it `node` again).
    const leaver = (await api(s, '/pty', {
      command: 'sh',
      args: [
        '-c',
        'echo started; while [ "$(cat /proc/$PPID/comm)" = "sandproc serve" ]; do sleep 0.01; done; echo gone-$((2+3)); exit 5',
      ],
    })) as unknown as Created
    const client = await attach(s, leaver)
    await client.untilText(/started/)
    const early = (await api(s, '/pty', {
      command: 'sh',
      args: ['-c', 'echo done-early; exit 4'],
    })) as unknown as Created
    await untilEnded(s, early.session_id)

    const outcome = upgrade(s)
    expect(await closedBy(client, outcome)).toMatchObject({ code: 1012 })
    // Running when the old program handed it over.
    expect(await outcome).toMatch(/and 1 PTY sessions taken over/)

    const back = await attach(s, leaver)
    expect(await back.closed).toEqual({ code: 1000, reason: 'exit:5' })
    expect(back.text()).toMatch(/started[\s\S]*gone-5/)
    expect(back.exitCode()).toBe(5)
    expect(await untilEnded(s, leaver.session_id)).toMatchObject({ exit_code: 5, pid: leaver.pid })

    expect(await api(s, `/pty/${early.session_id}`)).toMatchObject({ exit_code: 4, is_alive: false })
    const late = await attach(s, early)
    expect(await late.closed).toEqual({ code: 1000, reason: 'exit:4' })
    expect(late.text()).toMatch(/done-early/)
    expect(late.exitCode()).toBe(4)
  }, 300_000)

  it("hands an embedder's sup.pty() session to the program it becomes", async () => {
    const go = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pty-embedder-')), 'go')
    const [old, next, closed] = await runPhases('test/fixtures/handover/pty-embedder.ts', [go])
    expect(next).toMatchObject({ phase: 'new', pid: old.pid, shell: old.shell, sessions: 2, total: 2, code: 6 })
    // What the shell wrote after the swap, then the answer to input.
    expect(next.out).toMatch(/late[\s\S]*got-hello/)
    // The session it never resumed ends with close() all the same (its kill lets go of the pause).
    expect(closed).toEqual({ phase: 'closed', ignored: 'killed' })
  }, 120_000)
})
