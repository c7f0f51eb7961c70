/**
 * Live upgrade of `sandproc serve` for real (docs/upgrade.md): the CLI as a child process,
 * SIGUSR2, and every process it ran still there afterwards, in the same server pid.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createParser } from 'eventsource-parser'
import { describe, expect, it } from 'vitest'
import { api, serve, start, untilExited, type Served } from '../helpers/served.js'

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

describe('sandproc serve: SIGUSR2', () => {
  it('re-executes in the same pid and keeps every process, its output, timeout and OOM report', async () => {
    const s = await serve()
    const go = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'handover-')), 'go')
    const chatty = await start(s, {
      command: 'sh',
      args: ['-c', 'i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo line $i; sleep 0.01; done'],
    })
    const lines: string[] = []
    const followed = followAcross(s, chatty.pid, (l) => lines.push(l))
    const hog = await start(s, {
      command: 'sh',
      args: ['-c', `while [ ! -e ${go} ]; do sleep 0.05; done; exec python3 -c '${HOG}'`],
      memory_limit: '64M',
    })
    // Some output has gone out before the swap.
    while (lines.length < 20) await new Promise((r) => setTimeout(r, 20))
    // Its timeout falls after the swap, which begins with a load check of the new program:
    // how long that takes here (seconds on this machine, tens of seconds in the v2 VM, where
    // it also varies most), and the new program's start after it, set the timeout.
    const timeoutMs = 8 * (await checkMs()) + 2000
    // Sleeps far past its timeout, however long the timeout had to be here.
    const timed = await start(s, { command: 'sleep', args: ['1000'], timeout: timeoutMs / 1000 })
    const timedAt = Date.now()
    // Outlives the swap whatever it takes: the same child, cgroup and parent are checked on it.
    const sleeper = await start(s, { command: 'sleep', args: ['1000'] })
    const before = { sleeper: cgroupOf(sleeper.pid), hog: cgroupOf(hog.pid) }

    const upgraded = s.line(/upgraded in place/)
    const sent = performance.now()
    s.child.kill('SIGUSR2')
    expect(await upgraded).toMatch(/upgraded in place, 4 processes taken over/)
    const upgradedAt = Date.now()
    expect((await api(s, '/health')).status).toBe(200)
    const swapMs = performance.now() - sent
    console.log(`handover: signal to the new server answering /health: ${swapMs.toFixed(0)} ms`)

    // The same children in the same cgroups, in the same server pid.
    expect(cgroupOf(sleeper.pid)).toBe(before.sleeper)
    expect(cgroupOf(hog.pid)).toBe(before.hog)
    expect(fs.readFileSync(`/proc/${sleeper.pid}/status`, 'utf8')).toMatch(new RegExp(`PPid:\\s+${s.child.pid}\\b`))
    // Now the hog starts growing, in the new server.
    fs.writeFileSync(go, '')
    const connections = await followed
    expect(connections).toBeGreaterThan(1)
    expect(lines).toEqual(Array.from({ length: 600 }, (_, i) => `line ${i + 1}`))
    const t = await untilExited(s, timed.pid)
    expect(t).toMatchObject({ reason: 'timed_out', timed_out: true })
    // Its clock went on from where it stood: it ended at its timeout (or at once after the
    // swap, where the swap outlasted it, as in the slow v2 VM), not a whole timeout later.
    expect((t.ended_at as number) - timedAt).toBeLessThan(Math.max(timeoutMs, upgradedAt - timedAt) + 500)
    expect(await untilExited(s, hog.pid)).toMatchObject({ status: 'oom_killed', oom_killed: true })
    expect(await untilExited(s, chatty.pid)).toMatchObject({ status: 'exited', exit_code: 0 })
  }, 300_000)

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
