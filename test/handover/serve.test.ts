/**
 * Live upgrade of `sandproc serve` for real (docs/upgrade.md): the CLI as a child process,
 * with every kind of thing it holds at once (a run stream being read, a follow, a managed
 * process with a health check, an attached terminal, a timeout to come, an OOM kill to
 * come), SIGUSR2, and every one of them still there afterwards, in the same server pid.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createParser } from 'eventsource-parser'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { dataFrame } from '../../src/pty/wire.js'
import type { Created } from '../helpers/pty.js'
import { api, serve, start, untilExited, type Served } from '../helpers/served.js'
import { attach, closedBy, runStream, upgrade } from '../helpers/served-clients.js'

const HOG = 'a = []\nfor i in range(1024):\n    a.append(bytearray(1 << 20))\nraise SystemExit(3)'

/** Follows `pid`'s output to `eof`, reconnecting with Last-Event-ID whenever the connection ends. */
async function followAcross(s: Served, pid: number, onLine: (line: string) => void): Promise<number> {
  let last: string | undefined
  let connections = 0
  for (;;) {
    connections++
    let eof = false
    const parser = createParser({
      onEvent: (ev) => {
        if (ev.event === 'eof') eof = true
        if (ev.event !== 'output') return
        last = ev.id
        onLine((JSON.parse(ev.data) as { line: string }).line)
      },
    })
    try {
      const res = await api(s, `/processes/${pid}/output/follow`, {
        headers: last === undefined ? {} : { 'last-event-id': last },
      })
      const reader = res.body!.getReader()
      const dec = new TextDecoder()
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        parser.feed(dec.decode(value, { stream: true }))
      }
    } catch {
      // The connection ended with the old program: resume.
    }
    if (eof) return connections
  }
}

/** How long `handover-check` (what serve runs before a swap) takes here, ms. */
function checkMs(): Promise<number> {
  const t0 = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'handover-check'], { stdio: 'ignore' })
  return new Promise((resolve) => child.once('exit', () => resolve(performance.now() - t0)))
}

function cgroupOf(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')
}

function parentOf(pid: number): number {
  return Number(/PPid:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1])
}

async function managedOf(s: Served, name: string): Promise<{ pid: number; managed: Record<string, unknown> }> {
  return (await (await api(s, `/processes/${name}`)).json()) as { pid: number; managed: Record<string, unknown> }
}

describe('sandproc serve: SIGUSR2', () => {
  it('re-executes in the same pid and keeps a run stream, a follow, a managed process, a terminal, a timeout and an OOM report', async () => {
    const s = await serve()
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handover-'))
    // Everything chatty goes on until the new server serves, however long the swap takes.
    const go = path.join(dir, 'go')
    const chattyScript = (last: string): string =>
      `i=0; while [ ! -e ${go} ]; do i=$((i+1)); echo line $i; sleep 0.01; done; end=$((i+50)); while [ $i -lt $end ]; do i=$((i+1)); echo line $i; done; ${last}`

    // A background process with a follow client.
    const chatty = await start(s, { command: 'sh', args: ['-c', chattyScript('exit 0')] })
    const lines: string[] = []
    const followed = followAcross(s, chatty.pid, (l) => lines.push(l))
    // A chatty run with a reading client, on a connection of its own.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    let runLines = 0
    let runStarted!: (pid: number) => void
    const runPid = new Promise<number>((r) => (runStarted = r))
    const streamed = runStream(s, agent, { command: 'sh', args: ['-c', chattyScript('exit 7')] }, (f) => {
      if (typeof f.pid === 'number') runStarted(f.pid)
      if (typeof f.line === 'string') runLines++
    }).done
    // A process that will be OOM-killed once the new server serves.
    const hog = await start(s, {
      command: 'sh',
      args: ['-c', `while [ ! -e ${go} ]; do sleep 0.05; done; exec python3 -c '${HOG}'`],
      memory_limit: '64M',
    })
    // A managed process with an http health check (served by this test, up across the swap).
    let probes = 0
    const health = http.createServer((_req, res) => {
      probes++
      res.end('ok')
    })
    await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => void health.close())
    const created = await api(s, '/processes', {
      method: 'POST',
      body: JSON.stringify({
        command: 'sleep',
        args: ['1000'],
        name: 'web',
        restart: { policy: 'on_failure' },
        health_check: { type: 'http', port: (health.address() as AddressInfo).port, interval_ms: 200 },
      }),
    })
    expect(created.status).toBe(201)
    while ((await managedOf(s, 'web')).managed.health_status !== 'healthy') await new Promise((r) => setTimeout(r, 50))
    const web = await managedOf(s, 'web')
    // An attached PTY session.
    const terminal = (await (
      await api(s, '/pty', { method: 'POST', body: JSON.stringify({ command: 'sh', args: ['-i'] }) })
    ).json()) as Created
    const client = await attach(s, terminal)
    client.send(dataFrame('echo before-$((4*5))\n'))
    await client.untilText(/before-20/)
    // Some output has gone out before the swap.
    while (lines.length < 20 || runLines < 20) await new Promise((r) => setTimeout(r, 20))
    // Its timeout falls after the swap, which begins with a load check of the new program:
    // how long that takes here (seconds on this machine, tens of seconds in the v2 VM, where
    // it also varies most), and the new program's start after it, set the timeout.
    const timeoutMs = 8 * (await checkMs()) + 2000
    // Sleeps far past its timeout, however long the timeout had to be here.
    const timed = await start(s, { command: 'sleep', args: ['1000'], timeout: timeoutMs / 1000 })
    const timedAt = Date.now()
    // Outlives the swap whatever it takes: the same child, cgroup and parent are checked on it.
    const sleeper = await start(s, { command: 'sleep', args: ['1000'] })
    const running = [chatty.pid, await runPid, hog.pid, web.pid, timed.pid, sleeper.pid, terminal.pid]
    const before = new Map(running.map((pid) => [pid, cgroupOf(pid)]))

    const sent = performance.now()
    const outcome = upgrade(s)
    expect(await closedBy(client, outcome)).toMatchObject({ code: 1012 })
    expect(await outcome).toMatch(/upgraded in place, 6 processes and 1 PTY sessions taken over/)
    const upgradedAt = Date.now()
    expect((await api(s, '/health')).status).toBe(200)
    const swapMs = performance.now() - sent
    console.log(`handover: signal to the new server answering /health: ${swapMs.toFixed(0)} ms`)

    // The same children in the same cgroups, each still the same server's child.
    for (const pid of running) {
      expect(cgroupOf(pid)).toBe(before.get(pid))
      expect(parentOf(pid)).toBe(s.child.pid)
    }
    const probesAtSwap = probes
    fs.writeFileSync(go, '')

    // The run's client saw one unbroken stream, to its exit frame.
    const r = await streamed
    expect(r.complete).toBe(true)
    const frames = r.frames.slice(1)
    expect(frames.pop()).toMatchObject({ exit_code: 7 })
    expect(frames.map((f) => f.line)).toEqual(Array.from({ length: frames.length }, (_, i) => `line ${i + 1}`))
    // The follow resumed by Last-Event-ID: every line once.
    expect(await followed).toBeGreaterThan(1)
    expect(lines).toEqual(Array.from({ length: lines.length }, (_, i) => `line ${i + 1}`))
    expect(lines.length).toBeGreaterThanOrEqual(70)
    expect(await untilExited(s, chatty.pid)).toMatchObject({ status: 'exited', exit_code: 0 })
    // The terminal: back with its token, the same shell.
    const again = await attach(s, terminal)
    again.send(dataFrame('echo after-$((6*7))\n'))
    await again.untilText(/after-42/)
    again.send(dataFrame('exit 3\n'))
    expect(await again.closed).toEqual({ code: 1000, reason: 'exit:3' })
    // The managed process: the same run, counts and health, and probing goes on.
    expect((await managedOf(s, 'web')).managed).toMatchObject({ restart_count: 0, health_status: 'healthy' })
    expect((await managedOf(s, 'web')).pid).toBe(web.pid)
    while (probes <= probesAtSwap) await new Promise((r) => setTimeout(r, 50))
    // The timeout: its clock went on from where it stood, so it ended at its timeout (or at
    // once after the swap, where the swap outlasted it, as in the slow v2 VM), not a whole
    // timeout later.
    const t = await untilExited(s, timed.pid)
    expect(t).toMatchObject({ reason: 'timed_out', timed_out: true })
    expect((t.ended_at as number) - timedAt).toBeLessThan(Math.max(timeoutMs, upgradedAt - timedAt) + 500)
    // The OOM kill, in the new server, exactly reported.
    expect(await untilExited(s, hog.pid)).toMatchObject({ status: 'oom_killed', oom_killed: true })
    agent.destroy()
    // A hang guard: in the v2 VM this test alone takes about three minutes.
  }, 600_000)

  it('keeps listing a process that had exited, with its exit and its output', async () => {
    const s = await serve()
    const done = await start(s, { command: 'sh', args: ['-c', 'echo one; echo two >&2; exit 3'] })
    const before = await untilExited(s, done.pid)
    const upgraded = s.line(/upgraded in place/)
    s.child.kill('SIGUSR2')
    expect(await upgraded).toMatch(/0 processes taken over/)
    const res = await api(s, `/processes/${done.pid}`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(before)
    const listed = (await (await api(s, '/processes')).json()) as { processes: Array<{ pid: number }> }
    expect(listed.processes.map((p) => p.pid)).toContain(done.pid)
    const lines: string[] = []
    expect(await followAcross(s, done.pid, (l) => lines.push(l))).toBe(1)
    expect(lines).toEqual(['one', 'two'])
  }, 300_000)
})
