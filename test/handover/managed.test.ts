/**
 * Managed processes across a live upgrade (docs/upgrade.md): restart counts, the backoff
 * left and the health state carry over, and what follows the swap is as before. The
 * library's half runs as a child program (an execve would replace the test runner).
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

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
}

const FIXTURE = 'test/fixtures/handover/managed.ts'

function runFixture(args: string[]): Promise<Phase[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  return new Promise((resolve) =>
    child.once('close', () =>
      resolve(
        out
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Phase),
      ),
    ),
  )
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
    const backoffMs = Math.round(4 * (await loadMs()) + 2000)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'managed-handover-'))
    return { phases: await runFixture([dir, String(backoffMs)]), backoffMs }
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
