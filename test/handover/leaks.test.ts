/**
 * Twenty live upgrades in a row of `sandproc serve` holding fifty processes, a managed
 * process, a PTY session and a `run` stream being read (docs/upgrade.md): every one
 * survives each upgrade, the stream arrives whole, and nothing accumulates: the server's
 * fds, the children's fds, cgroup directories, watchdog processes.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'

import { children as childrenOf, supervisorCgroupDirs } from '../helpers/hardening.js'
import { runStream } from '../helpers/served-clients.js'

const TOKEN = 'handover-token-of-some-length'
const PROCESSES = 50
const UPGRADES = Number(process.env.UPGRADES ?? 20)

let server: ChildProcess | undefined

// The built program, as `npm start` runs it: through tsx each of the forty program starts
// (twenty load checks, twenty new programs) costs seconds on a loaded machine. Built here
// from the sources, so that it is the code under test.
beforeAll(() => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
}, 300_000)
afterEach(async () => {
  if (server === undefined || server.exitCode !== null) return
  const exited = new Promise((r) => server!.once('exit', r))
  server.kill('SIGTERM')
  await exited
})

/** The pids of `pid`'s children, in order. */
function children(pid: number): number[] {
  return childrenOf(pid)
    .map((c) => c.pid)
    .sort((a, b) => a - b)
}

function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length
}

describe('sandproc serve: twenty upgrades with fifty processes', () => {
  it('keeps every process and leaks nothing', async () => {
    server = spawn(process.execPath, ['dist/cli/main.js', 'serve', '--port', '0', '--token', TOKEN], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    const pid = server.pid!
    server.once('exit', (code, sig) => console.log('server exited', code, sig))
    let seen = ''
    const lineWaiters: Array<[RegExp, () => void]> = []
    server.stderr!.setEncoding('utf8').on('data', (d: string) => {
      seen += d
      if (process.env.HANDOVER_DEBUG) console.log(d)
      for (const w of [...lineWaiters]) {
        if (!w[0].test(seen)) continue
        lineWaiters.splice(lineWaiters.indexOf(w), 1)
        w[1]()
      }
    })
    // Resolves once `re` has been seen `n` times in all.
    const nth = (re: RegExp, n: number): Promise<void> =>
      new Promise((resolve) =>
        lineWaiters.push([{ test: (text: string) => text.split(re).length - 1 >= n } as RegExp, resolve]),
      )
    await nth(/listening on http/, 1)
    const url = /listening on (http:\/\/\S+)/.exec(seen)![1]
    const started = await Promise.all(
      Array.from({ length: PROCESSES }, async () => {
        const res = await fetch(`${url}/api/v1/processes`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ command: 'sleep', args: ['1000'] }),
        })
        return ((await res.json()) as { pid: number }).pid
      }),
    )
    const post = async (p: string, body: object): Promise<{ pid: number }> => {
      const res = await fetch(`${url}/api/v1${p}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      expect(res.ok).toBe(true)
      return (await res.json()) as { pid: number }
    }
    const managed = await post('/processes', { command: 'sleep', args: ['1000'], name: 'kept' })
    const terminal = await post('/pty', { command: 'sh', args: ['-c', 'sleep 1000'] })
    // A run read across every upgrade: a line each 10 ms until the last one, then 10 more.
    const go = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'leaks-')), 'go')
    const script = `i=0; while [ ! -e ${go} ]; do i=$((i+1)); echo line $i; sleep 0.01; done; end=$((i+10)); while [ $i -lt $end ]; do i=$((i+1)); echo line $i; done`
    let runStarted!: (pid: number) => void
    const runPid = new Promise<number>((r) => (runStarted = r))
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const streamed = runStream({ url }, agent, { command: 'sh', args: ['-c', script] }, (f) => {
      if (typeof f.pid === 'number') runStarted(f.pid)
    }).done
    const pids = [...started, managed.pid, terminal.pid, await runPid].sort((a, b) => a - b)
    const childFds = pids.map(fdCount)

    const measure = (): { serverFds: number; cgroups: number; others: number } => ({
      serverFds: fdCount(pid),
      cgroups: supervisorCgroupDirs(pid),
      // Children of the server that are not our processes: the watchdogs.
      others: children(pid).filter((c) => !pids.includes(c)).length,
    })
    // Each new server fills its pool of ready cgroups (and their fds) in the background, so
    // one reading can differ by a pool's worth: a leak shows as growth over the upgrades.
    const early: Array<ReturnType<typeof measure>> = []
    for (let i = 1; i <= UPGRADES; i++) {
      const upgraded = nth(/upgraded in place/, i)
      // The next SIGUSR2 only once the new server handles it (it kills a program still starting).
      const listening = nth(/listening on http/, i + 1)
      server.kill('SIGUSR2')
      await upgraded
      const counts = /upgraded in place, (\d+) processes and (\d+) PTY/.exec(
        seen.slice(seen.lastIndexOf('upgraded in place')),
      )
      // The fifty, the managed process's run and the run: all running, with the terminal.
      expect(counts?.slice(1).map(Number)).toEqual([PROCESSES + 2, 1])
      await listening
      // Once the old watchdogs with nothing left to guard have gone, from the second upgrade on.
      if (i >= 2 && i <= 4) {
        while (children(pid).length > pids.length + 2) await new Promise((r) => setTimeout(r, 20))
        early.push(measure())
      }
    }
    expect(server.pid).toBe(pid)
    expect(children(pid).filter((c) => pids.includes(c))).toEqual(pids)
    expect(pids.map(fdCount)).toEqual(childFds)
    while (children(pid).length > pids.length + 2) await new Promise((r) => setTimeout(r, 20))
    const last = measure()
    console.log(`handover: ${UPGRADES} upgrades with ${pids.length} processes; after 2 to 4:`, early, 'last:', last)
    // The old watchdog of the first server, which still guards the fifty, and the current one.
    expect(last.others).toBe(2)
    // Within one pool's worth (4 cgroups, 2 fds each) of the early readings: a leak of one
    // fd or cgroup per upgrade would be 16 over the upgrades since.
    expect(last.serverFds).toBeLessThanOrEqual(Math.max(...early.map((m) => m.serverFds)) + 8)
    expect(last.cgroups).toBeLessThanOrEqual(Math.max(...early.map((m) => m.cgroups)) + 4)
    // The run's client read one unbroken stream across the twenty swaps.
    fs.writeFileSync(go, '')
    const r = await streamed
    expect(r.complete).toBe(true)
    const lines = r.frames.slice(1, -1).map((f) => f.line)
    expect(lines).toEqual(Array.from({ length: lines.length }, (_, i) => `line ${i + 1}`))
    agent.destroy()
    // A hang guard for a loaded machine, not a speed limit.
  }, 600_000)
})
