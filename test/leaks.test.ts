/**
 * 500 runs of every kind (clean exits, signals, timeouts, spawn failures, stdin pipes,
 * kills) must leave this process with the fds it had and no zombie child.
 */
import fs from 'node:fs'
import path from 'node:path'
import { setImmediate as tick } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { SupervisedProcess } from '../src/process.js'
import { Supervisor } from '../src/supervisor.js'
import type { ExitEvent } from '../src/types.js'
import { ending } from './helpers/events.js'
import { openFds, rmTemp, tempDir, zombieChildren } from './helpers/system.js'

let sup: Supervisor
let dir: string

beforeAll(() => {
  sup = new Supervisor()
  dir = tempDir()
})

afterAll(async () => {
  await sup.close()
  rmTemp(dir)
})

type Expected = ReturnType<typeof ending> | { error: string }

/** One run of kind `i % 10`; resolves with how it ended. */
async function oneRun(i: number): Promise<[Expected, Expected]> {
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
      return [await outcome(sup.run({ command: 'sh', args: ['-c', 'sleep 100 & sleep 100'], timeout: 0.01 })), { signal: 9, timed_out: true }]
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

function pidfds(): number {
  return openFds().filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[pidfd]'
    } catch {
      return false
    }
  }).length
}

describe('after 500 runs', () => {
  it('no fd and no zombie is left, and every run ended as it should', async () => {
    // Warm-up: one of each kind, so that lazily opened process-wide fds (the addon's
    // /dev/null, libuv's signal pipe for child_process) exist before counting.
    for (let i = 0; i < 10; i++) await oneRun(i)
    await settle()
    const before = openFds()

    const batch = 25
    for (let start = 0; start < 500; start += batch) {
      const results = await Promise.all(Array.from({ length: batch }, (_, k) => oneRun(start + k)))
      results.forEach(([got, want], k) => expect([start + k, got]).toEqual([start + k, want]))
    }
    expect(sup.running).toBe(0)
    await settle()

    const after = openFds()
    const gained = after.filter((fd) => !before.includes(fd))
    const targets = gained.map((fd) => `${fd} -> ${fs.readlinkSync(`/proc/self/fd/${fd}`)}`)
    expect(targets).toEqual([])
    expect(after.length).toBe(before.length)
    expect(pidfds()).toBe(0)
    expect(zombieChildren()).toEqual([])
  })

  it('no zombie is left by processes that exit while nobody listens', async () => {
    const procs = Array.from({ length: 100 }, (_, i) => sup.run({ command: 'sh', args: ['-c', `exit ${i % 3}`] }))
    // Only the promise, once, at the end: no listener during the runs.
    await Promise.all(procs.map((p) => p.exited))
    await settle()
    expect(zombieChildren()).toEqual([])
    expect(pidfds()).toBe(0)
  })
})
