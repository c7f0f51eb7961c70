/**
 * 500 runs of every kind (clean exits, signals, timeouts, spawn failures, stdin pipes,
 * kills) must leave this process with the fds it had and no zombie child: checked on a
 * bare supervisor while it is still open (every per-run fd must be gone), and on a
 * default one (memory cgroups and watchdog, where available) after close(), since its
 * pool of prepared cgroups and its watchdog hold fds for the supervisor's lifetime.
 */
import fs from 'node:fs'
import path from 'node:path'
import { setImmediate as tick } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { SupervisedProcess } from '../../src/core/process.js'
import { Supervisor } from '../../src/supervisor.js'
import type { ExitEvent } from '../../src/types.js'
import { ending } from '../helpers/events.js'
import { openFds, pidfds, rmTemp, tempDir, untilNoChildren, zombieChildren } from '../helpers/system.js'

let dir: string

beforeAll(async () => {
  dir = tempDir()
  // The addon opens /dev/null once per process, at the first spawn: before any counting.
  const warm = new Supervisor({ cgroup: false, watchdog: false })
  await warm.run({ command: 'true' }).exited
  await warm.close()
})

afterAll(() => {
  rmTemp(dir)
})

type Expected = ReturnType<typeof ending> | { error: string }

/** One run of kind `i % 10`; resolves with how it ended. */
async function oneRun(sup: Supervisor, i: number): Promise<[Expected, Expected]> {
  const outcome = (p: SupervisedProcess): Promise<Expected> =>
    p.exited.then(
      (e: ExitEvent) => ending(e),
      (err: { code: string }) => ({ error: err.code }),
    )
  switch (i % 10) {
    case 0:
    case 1:
    case 2: {
      const p = sup.run({ command: 'sh', args: ['-c', `echo out ${i}; echo err >&2; exit ${i % 7}`] })
      return [await outcome(p), { exit_code: i % 7 }]
    }
    case 3:
      return [await outcome(sup.run({ command: 'sh', args: ['-c', 'kill -TERM $$'] })), { signal: 15 }]
    case 4:
      return [await outcome(sup.run({ command: 'sandproc-no-such-program' })), { error: 'ENOENT' }]
    case 5:
      return [await outcome(sup.run({ command: 'true', working_dir: path.join(dir, 'missing') })), { error: 'ENOENT' }]
    case 6: {
      const p = sup.start({ command: 'cat', stdin_mode: 'pipe' })
      await p.write(`line ${i}\n`)
      p.closeStdin()
      return [await outcome(p), { exit_code: 0 }]
    }
    case 7: {
      const p = sup.start({ command: 'sleep', args: ['100'] })
      await p.started
      p.kill()
      return [await outcome(p), { signal: 9 }]
    }
    case 8:
      return [
        await outcome(sup.run({ command: 'sh', args: ['-c', 'sleep 100 & sleep 100'], timeout: 0.01 })),
        { signal: 9, timed_out: true },
      ]
    default: {
      // A leftover descendant killed with the main process; stdin pipe never written.
      const p = sup.start({ command: 'sh', args: ['-c', 'sleep 100 & echo $!'], stdin_mode: 'pipe', user: 'nobody' })
      return [await outcome(p), { exit_code: 0 }]
    }
  }
}

/** Lets closes that were started by the last exits finish (libuv closes in a later turn). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick()
}

/** Runs 500 processes of every kind, 25 at a time, checking how each ended. */
async function fiveHundred(sup: Supervisor): Promise<void> {
  const batch = 25
  for (let start = 0; start < 500; start += batch) {
    const results = await Promise.all(Array.from({ length: batch }, (_, k) => oneRun(sup, start + k)))
    results.forEach(([got, want], k) => expect([start + k, got]).toEqual([start + k, want]))
  }
  expect(sup.running).toBe(0)
}

/** The fds gained since `before`, with what they point to (empty when none). */
function gainedSince(before: string[]): string[] {
  return openFds()
    .filter((fd) => !before.includes(fd))
    .map((fd) => {
      try {
        return `${fd} -> ${fs.readlinkSync(`/proc/self/fd/${fd}`)}`
      } catch {
        return `${fd} (closed while listing)`
      }
    })
    .filter((line) => !line.endsWith('(closed while listing)'))
}

describe('after 500 runs', () => {
  it('a bare supervisor, still open, holds no fd, pidfd or zombie of any run', async () => {
    const sup = new Supervisor({ cgroup: false, watchdog: false })
    try {
      // Warm-up: one of each kind first.
      for (let i = 0; i < 10; i++) await oneRun(sup, i)
      await settle()
      const before = openFds()
      await fiveHundred(sup)
      await settle()
      expect(gainedSince(before)).toEqual([])
      expect(openFds().length).toBe(before.length)
      expect(pidfds()).toBe(0)
      expect(zombieChildren()).toEqual([])
    } finally {
      await sup.close()
    }
  })

  it('a default supervisor, once closed, leaves exactly the fds from before it existed and no child', async () => {
    await settle()
    const before = openFds()
    const pidfdsBefore = pidfds()
    const sup = new Supervisor()
    await fiveHundred(sup)
    await sup.close()
    // The watchdog (a child of ours) exits once closed; everything must then be reaped.
    await untilNoChildren()
    await settle()
    expect(gainedSince(before)).toEqual([])
    expect(openFds().length).toBe(before.length)
    expect(pidfds()).toBe(pidfdsBefore)
  })

  it('no zombie is left by processes that exit while nobody listens', async () => {
    const sup = new Supervisor({ cgroup: false, watchdog: false })
    try {
      const procs = Array.from({ length: 100 }, (_, i) => sup.run({ command: 'sh', args: ['-c', `exit ${i % 3}`] }))
      // Only the promise, once, at the end: no listener during the runs.
      await Promise.all(procs.map((p) => p.exited))
      await settle()
      expect(zombieChildren()).toEqual([])
      expect(pidfds()).toBe(0)
    } finally {
      await sup.close()
    }
  })
})
