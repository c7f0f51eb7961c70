/**
 * Managed processes across a live upgrade (docs/upgrade.md): restart counts, the backoff
 * left and the health state carry over, and what follows the swap is as before. The
 * library's half runs as a child program (an execve would replace the test runner).
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Supervisor } from '../../src/index.js'
import { readSse } from '../helpers/server.js'
import { runPhases } from '../helpers/phases.js'
import { api, serve, type Served } from '../helpers/served.js'

type Managed = Record<string, unknown> & {
  pid: number
  restart_count: number
  consecutive_health_failures: number
  next_restart_at: number | null
}

interface Phase {
  phase: string
  pid: number
  adoptedAt: number
  counted: Managed & { killedPid?: number }
  checked: Managed & { failures?: number; probesAfter?: number }
  waiting: Managed & { startedAt?: number }
  lines: string[]
  pastRun?: { running: boolean; signalled: boolean }
}

/**
 * A health endpoint for the managed processes under test, in this process (up across any
 * swap, however slowly a run starts): 500 while `failing` exists, else 200.
 */
async function healthEndpoint(failing: string): Promise<{ port: number; close: () => void }> {
  const server = http.createServer((_req, res) => {
    res.statusCode = fs.existsSync(failing) ? 500 : 200
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as { port: number }).port, close: () => server.close() }
}

const FIXTURE = 'test/fixtures/handover/managed.ts'

function runFixture(args: string[]): Promise<Phase[]> {
  return runPhases<Phase>(FIXTURE, args)
}

/** How long the fixture takes to load here, ms: what the swap costs, which the backoff must outlast. */
async function loadMs(): Promise<number> {
  const t0 = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, 'load'], { stdio: 'ignore' })
  await new Promise((r) => child.once('exit', r))
  return performance.now() - t0
}

// One program and one swap for all three: a swap costs seconds here, tens of them in the v2 VM.
let result: Promise<{ phases: Phase[]; backoffMs: number }> | undefined
function swapped(): Promise<{ phases: Phase[]; backoffMs: number }> {
  result ??= (async () => {
    // The swap is about one load of the fixture: the backoff outlasts it.
    const backoffMs = Math.round(3 * (await loadMs()) + 2000)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'managed-handover-'))
    const health = await healthEndpoint(path.join(dir, 'failing'))
    try {
      return { phases: await runFixture([dir, String(backoffMs), String(health.port)]), backoffMs }
    } finally {
      health.close()
    }
  })()
  return result
}

describe('managed processes across sup.handover()', () => {
  it('keep their pid, status and restart count, and restart after a kill with the count going on', async () => {
    const { phases } = await swapped()
    const [old, adopted, after, closed] = phases
    expect(old.phase).toBe('old')
    expect(old.counted).toMatchObject({ status: 'running', restart_count: 2 })
    expect(adopted).toMatchObject({ phase: 'adopted', pid: old.pid })
    expect(adopted.counted).toEqual(old.counted)
    // One log across the runs and the swap.
    expect(adopted.lines).toEqual(['run 0', 'run 1', 'run 2'])
    expect(after.counted.killedPid).toBe(old.counted.pid)
    expect(after.counted.pid).not.toBe(old.counted.pid)
    expect(after.counted).toMatchObject({
      status: 'running',
      restart_count: 3,
      last_exit: { signal: 9 },
    })
    expect(after.lines).toEqual(['run 0', 'run 1', 'run 2', 'run 3'])
    expect(closed).toMatchObject({ phase: 'closed' })
  }, 300_000)

  it('restart after what was left of their backoff, not a whole one and not at once', async () => {
    const { phases, backoffMs } = await swapped()
    const [old, adopted, after] = phases
    expect(old.waiting).toMatchObject({ status: 'backing_off', restart_count: 0 })
    expect(adopted.waiting).toEqual(old.waiting)
    expect(adopted.pastRun).toEqual({ running: false, signalled: false })
    const due = old.waiting.next_restart_at!
    // Due after the swap (the backoff outlasts it), so "at once" would be early.
    expect(due).toBeGreaterThan(adopted.adoptedAt)
    const startedAt = after.waiting.startedAt!
    // Timers may fire a few ms before the wall clock says (libuv's cached loop time).
    expect(startedAt).toBeGreaterThanOrEqual(due - 50)
    expect(startedAt).toBeLessThan(adopted.adoptedAt + backoffMs)
    expect(after.waiting.restart_count).toBe(1)
  }, 300_000)

  it('keep their health state, and probing goes on: an unhealthy run is restarted by policy', async () => {
    const { phases } = await swapped()
    const [old, adopted, after] = phases
    expect(old.checked).toMatchObject({ status: 'running', health_status: 'healthy', restart_count: 0 })
    expect(old.checked.consecutive_health_failures).toBeGreaterThanOrEqual(2)
    expect(adopted.checked).toEqual(old.checked)
    // The count went on from where it stood to the threshold (6), not from 0.
    expect(after.checked.failures).toBe(6)
    expect(after.checked.probesAfter).toBe(6 - old.checked.consecutive_health_failures)
    expect(after.checked).toMatchObject({
      status: 'running',
      health_status: 'healthy',
      restart_count: 1,
      consecutive_health_failures: 0,
    })
    expect(after.checked.pid).not.toBe(old.checked.pid)
  }, 300_000)
})

describe('sup.handover() with a managed process in between two states', () => {
  it('waits for a restart under way, then reads the state', async () => {
    const sup = new Supervisor({ handover: true })
    try {
      const m = sup.start({ command: 'sleep', args: ['30'], name: 'moving' })
      await m.started
      let restarted = false
      void m.restart().then(
        () => (restarted = true),
        () => undefined,
      )
      // The execve fails (nothing is replaced): it is reached only once the restart is over.
      await expect(sup.handover({ check: false, argv: ['/nonexistent/sandproc'] })).rejects.toMatchObject({
        code: 'HANDOVER_EXEC_FAILED',
      })
      expect(restarted).toBe(true)
      expect(m.managedInfo()).toMatchObject({ status: 'running', restart_count: 1 })
    } finally {
      await sup.close()
    }
  })
})

async function infoOf(s: Served, key: string): Promise<Record<string, unknown> & { pid: number; managed: Managed }> {
  return (await (await api(s, `/processes/${key}`)).json()) as Record<string, unknown> & {
    pid: number
    managed: Managed
  }
}

/** Follows `key`'s output until a line is `line`. */
async function untilLine(s: Served, key: string, line: string): Promise<void> {
  const res = await api(s, `/processes/${key}/output/follow`)
  await readSse(res, (r) =>
    r.messages.some((m) => m.event === 'output' && (JSON.parse(m.data) as { line: string }).line === line),
  )
}

describe('managed processes across sandproc serve SIGUSR2', () => {
  it('shows the same pid, counts, health and stopped processes over HTTP, and goes on restarting', async () => {
    const s = await serve()
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'managed-serve-'))
    const health = await healthEndpoint(path.join(dir, 'failing'))
    onTestFinished(() => health.close())
    const count = path.join(dir, 'count')
    // Fails twice, then runs: restart_count 2, then healthy.
    const web = `c=$(cat ${count} 2>/dev/null || echo 0); echo $((c+1)) > ${count}; echo run $c; [ $c -ge 2 ] && exec sleep 300; exit 1`
    const created = await api(s, '/processes', {
      method: 'POST',
      body: JSON.stringify({
        command: 'sh',
        args: ['-c', web],
        name: 'web',
        restart: { policy: 'on_failure', initial_backoff_ms: 10 },
        health_check: { type: 'http', port: health.port, initial_delay_ms: 100, interval_ms: 200 },
      }),
    })
    expect(created.status).toBe(201)
    // Stopped and retained: ran once, ended cleanly, nothing restarts it.
    await api(s, '/processes', {
      method: 'POST',
      body: JSON.stringify({ command: 'true', name: 'done', restart: { policy: 'never' } }),
    })
    await untilLine(s, 'web', 'run 2')
    while ((await infoOf(s, 'web')).managed.health_status !== 'healthy') await new Promise((r) => setTimeout(r, 50))
    while ((await infoOf(s, 'done')).managed.status !== 'stopped') await new Promise((r) => setTimeout(r, 50))
    const before = { web: await infoOf(s, 'web'), done: await infoOf(s, 'done') }
    expect(before.web.managed).toMatchObject({ status: 'running', restart_count: 2, health_status: 'healthy' })

    const outcome = Promise.race([s.line(/upgraded in place/), s.line(/handover failed/)])
    s.child.kill('SIGUSR2')
    expect(await outcome).toMatch(/upgraded in place, 1 process/)
    await s.line(/listening on http/)
    const after = { web: await infoOf(s, 'web'), done: await infoOf(s, 'done') }
    expect(after.web.pid).toBe(before.web.pid)
    expect(after.web.managed).toMatchObject({
      status: 'running',
      restart_count: 2,
      health_status: 'healthy',
      last_exit: before.web.managed.last_exit,
    })
    expect(after.done).toEqual(before.done)
    const { processes } = (await (await api(s, '/processes')).json()) as { processes: Array<{ managed?: Managed }> }
    expect(processes.filter((p) => p.managed !== undefined).map((p) => p.managed!.name)).toEqual(['web', 'done'])

    // A kill after the swap: restarted by the policy, the count going on.
    const sig = await api(s, '/processes/web/signal', { method: 'POST', body: JSON.stringify({ signal: 9 }) })
    expect(sig.status).toBe(200)
    await untilLine(s, 'web', 'run 3')
    const again = await infoOf(s, 'web')
    expect(again.pid).not.toBe(before.web.pid)
    expect(again.managed).toMatchObject({ restart_count: 3, last_exit: { signal: 9 } })
  }, 300_000)
})
