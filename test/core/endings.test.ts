/**
 * Exact endings in the library (docs/endings.md): `reason` for every way a process ends,
 * `timeout_grace` over whole trees, `idle_timeout`, merged stderr and base64 bytes.
 */
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'

import { runEventStream } from '../../src/server/sse/streams.js'
import { Supervisor } from '../../src/supervisor.js'
import type { OutputEvent, RunRequest } from '../../src/types.js'
import { collect, lineMatching } from '../helpers/events.js'
import { isDead } from '../helpers/system.js'
import { useSupervisor } from '../helpers/fixture.js'
import { untilStatus } from '../helpers/managed.js'
import type { ManagedProcess } from '../../src/managed/process.js'

let sup: Supervisor
let dir: string

useSupervisor((s, d) => ((sup = s), (dir = d)))

const sh = (cmd: string, extra: Partial<RunRequest> = {}) => sup.run({ command: 'sh', args: ['-c', cmd], ...extra })

// Stops by itself at 1 GiB (exit 3): a limit that failed must not wake the host's OOM killer.
const HOG = 'a = []\nfor i in range(1024):\n    a.append(bytearray(1 << 20))\nraise SystemExit(3)'

/** Pids a shell printed as `pids A B ...`, once every one of them is dead or not. */
function pidsIn(lines: string[]): number[] {
  const line = lines.find((l) => l.startsWith('pids '))
  if (line === undefined) throw new Error('no pids line')
  return line.slice(5).split(' ').map(Number)
}

describe('reason', () => {
  it('is exited, signaled or oom_killed when nothing of sandproc ended it', async () => {
    expect((await sh('exit 3').exited).reason).toBe('exited')
    expect((await sh('kill -USR1 $$').exited).reason).toBe('signaled')
    // Someone else's SIGKILL is a signal, not a kill by sandproc.
    expect(await sh('kill -KILL $$').exited).toMatchObject({ signal: 9, reason: 'signaled' })
    const oom = await sup.run({ command: 'python3', args: ['-c', HOG], memory_limit: '64M' }).exited
    expect(oom).toMatchObject({ signal: 9, oom_killed: true, reason: 'oom_killed' })
    expect(oom.killed_by).toBeUndefined()
  })

  it('is killed by api for killTree() and for kill(sig) when that signal ends it', async () => {
    const a = sh('echo up; exec sleep 100')
    await lineMatching(a, (l) => l === 'up')
    a.killTree()
    expect(await a.exited).toMatchObject({ signal: 9, reason: 'killed', killed_by: 'api' })
    expect(a.info()).toMatchObject({ status: 'signaled', reason: 'killed', killed_by: 'api' })

    const b = sh('echo up; exec sleep 100')
    await lineMatching(b, (l) => l === 'up')
    b.kill('SIGTERM')
    expect(await b.exited).toMatchObject({ signal: 15, reason: 'killed', killed_by: 'api' })
  })

  it('stays exited when the program handles the signal sent through kill() and ends by itself', async () => {
    const p = sh('trap "exit 4" USR1; echo up; while :; do sleep 0.01; done')
    await lineMatching(p, (l) => l === 'up')
    p.kill('SIGUSR1')
    expect(await p.exited).toMatchObject({ exit_code: 4, reason: 'exited' })
    expect(p.info().killed_by).toBeUndefined()
  })

  it('is killed by client_gone when a run stream is cancelled', async () => {
    const p = sh('echo up; exec sleep 100')
    const stream = runEventStream(p)
    await lineMatching(p, (l) => l === 'up')
    await stream.return()
    expect(await p.exited).toMatchObject({ signal: 9, reason: 'killed', killed_by: 'client_gone' })
  })

  it('is killed by shutdown for what close() ends, even when the program exits cleanly on SIGTERM', async () => {
    const own = new Supervisor()
    const hard = own.run({ command: 'sh', args: ['-c', 'echo up; exec sleep 100'] })
    const soft = own.run({ command: 'sh', args: ['-c', 'trap "exit 0" TERM; echo up; while :; do sleep 0.01; done'] })
    await Promise.all([lineMatching(hard, (l) => l === 'up'), lineMatching(soft, (l) => l === 'up')])
    await own.close()
    expect(await hard.exited).toMatchObject({ signal: 15, reason: 'killed', killed_by: 'shutdown' })
    expect(await soft.exited).toMatchObject({ exit_code: 0, reason: 'killed', killed_by: 'shutdown' })
  })

  it('is in ProcessInfo once exited, null while running', async () => {
    const p = sh('echo up; read x', {})
    await lineMatching(p, (l) => l === 'up')
    expect(p.info().reason).toBeNull()
    await p.exited
    expect(p.info().reason).toBe('exited')
  })
})

describe('reason of managed runs', () => {
  it('is in last_exit: exited for a run that ended by itself, killed by api for stop()', async () => {
    const managed = sup
    const done = managed.start({
      command: 'sh',
      args: ['-c', 'exit 3'],
      name: 'ends-by-itself',
      restart: { policy: 'never' },
    }) as ManagedProcess
    await untilStatus(done, 'stopped')
    expect(done.managedInfo().last_exit).toMatchObject({ exit_code: 3, reason: 'exited' })
    const stopped = managed.start({ command: 'sleep', args: ['100'], name: 'stopped-by-api' }) as ManagedProcess
    await stopped.started
    await stopped.stop()
    expect(stopped.managedInfo().last_exit).toMatchObject({ signal: 9, reason: 'killed', killed_by: 'api' })
    expect(stopped.info()).toMatchObject({ reason: 'killed', killed_by: 'api' })
  })
})

// The timeouts below leave the program time to set up its traps (1.5 s: a slow VM takes
// a good part of a second to start a shell); what they end is then decided by the trap.
describe('timeout_grace', () => {
  it('0 (the default) keeps the immediate SIGKILL', async () => {
    const e = await sh('trap "" TERM; exec sleep 100', { timeout: 0.1 }).exited
    expect(e).toMatchObject({ signal: 9, timed_out: true, reason: 'timed_out' })
  })

  it('a program that does not trap SIGTERM dies of it, with its descendants, well before the grace', async () => {
    const p = sh('sleep 100 & a=$!; sh -c "sleep 100" & b=$!; echo pids $$ $a $b; wait', {
      timeout: 1.5,
      timeout_grace: 600,
    })
    const { exit, stdout } = await collect(p)
    expect(exit).toMatchObject({ signal: 15, timed_out: true, reason: 'timed_out' })
    for (const pid of pidsIn(stdout)) expect(isDead(pid)).toBe(true)
  })

  it('a program that traps SIGTERM cleans up and its exit code is reported, still timed_out', async () => {
    const { exit, stdout } = await collect(
      sh('trap "echo cleanup; exit 3" TERM; echo up; while :; do sleep 0.01; done', {
        timeout: 1.5,
        timeout_grace: 600,
      }),
    )
    expect(stdout).toEqual(['up', 'cleanup'])
    expect(exit).toMatchObject({ exit_code: 3, timed_out: true, reason: 'timed_out' })
  })

  it('a program and descendants that ignore SIGTERM get SIGKILL after the grace, none outlives it', async () => {
    const p = sh(
      'trap "" TERM; (trap "" TERM; sleep 100) & a=$!; setsid sh -c "trap \\"\\" TERM; sleep 100" & b=$!; echo pids $$ $a $b; wait',
      {
        timeout: 1.5,
        timeout_grace: 0.3,
      },
    )
    const { exit, stdout } = await collect(p)
    expect(exit).toMatchObject({ signal: 9, timed_out: true, reason: 'timed_out' })
    // b left the process group (setsid): only the cgroup reaches it.
    if (sup.capabilities.cgroup !== null) for (const pid of pidsIn(stdout)) expect(isDead(pid)).toBe(true)
  })

  it('the first ending wins: close() during the grace leaves it timed_out', async () => {
    const own = new Supervisor({ killGrace: 50 })
    const p = own.run({
      command: 'sh',
      args: ['-c', 'trap "echo got-term" TERM; echo up; while :; do sleep 0.01; done'],
      timeout: 1.5,
      timeout_grace: 600,
    })
    await lineMatching(p, (l) => l === 'got-term')
    await own.close()
    expect(await p.exited).toMatchObject({ signal: 9, timed_out: true, reason: 'timed_out' })
    expect((await p.exited).killed_by).toBeUndefined()
  })

  it('applies to idle_timeout too', async () => {
    const e = await sh('trap "exit 5" TERM; while :; do sleep 0.01; done', { idle_timeout: 1.5, timeout_grace: 600 })
      .exited
    expect(e).toMatchObject({ exit_code: 5, reason: 'idle_timeout' })
    expect(e.timed_out).toBeUndefined()
  })
})

describe('idle_timeout', () => {
  it('ends a quiet process and spares a chatty one beside it', async () => {
    const quiet = sh('echo once; exec sleep 100', { idle_timeout: 1 })
    const chatty = sh('for i in $(seq 1 40); do echo $i; sleep 0.05; done', { idle_timeout: 1.5 })
    const [q, c] = await Promise.all([collect(quiet), collect(chatty)])
    expect(q.exit).toMatchObject({ signal: 9, reason: 'idle_timeout' })
    expect(q.exit.timed_out).toBeUndefined()
    expect(q.stdout).toEqual(['once'])
    expect(c.exit).toMatchObject({ exit_code: 0, reason: 'exited' })
    expect(c.stdout).toHaveLength(40)
  })
})

describe('idle_timeout and a slow consumer', () => {
  it('does not run while the output is not read: a paused program is not idle', async () => {
    const p = sh('head -c 4000000 /dev/zero | tr "\\0" a | fold -w 100', { idle_timeout: 0.2 })
    await p.started
    p.pause()
    // Held back for longer than the idle timeout (its pipe full, the program blocked).
    await sup.run({ command: 'sleep', args: ['0.6'] }).exited
    p.resume()
    expect(await p.exited).toMatchObject({ exit_code: 0, reason: 'exited' })
  })
})

describe('stderr_mode "stdout"', () => {
  it('merges 10,000 alternating writes in exact order, all tagged stdout', async () => {
    const js =
      'const fs = require("fs"); for (let i = 0; i < 10000; i++) fs.writeSync(i % 2 ? 2 : 1, (i % 2 ? "e" : "o") + i + "\\n")'
    const { outputs, exit } = await collect(
      sup.run({ command: process.execPath, args: ['-e', js], stderr_mode: 'stdout' }),
    )
    expect(exit.reason).toBe('exited')
    expect(outputs.map((o) => o.line)).toEqual(Array.from({ length: 10000 }, (_, i) => (i % 2 ? 'e' : 'o') + i))
    expect(new Set(outputs.map((o) => o.stream))).toEqual(new Set(['stdout']))
  })

  it('works for start too', async () => {
    const p = sup.start({ command: 'sh', args: ['-c', 'echo a; echo b >&2; echo c'], stderr_mode: 'stdout' })
    await p.exited
    expect(p.log?.snapshot('stdout').lines.map((l) => l.line)).toEqual(['a', 'b', 'c'])
    expect(p.log?.snapshot('stderr').lines).toEqual([])
  })
})

describe('output_encoding "base64"', () => {
  it('gives the exact bytes (NUL, invalid UTF-8, no trailing newline) as Buffers', async () => {
    const bytes = Buffer.concat([randomBytes(300_000), Buffer.from([0, 0xff, 0xc3, 0x28, 0x0d])])
    const file = path.join(dir, 'random')
    fs.writeFileSync(file, bytes)
    const { outputs } = await collect(sup.run({ command: 'cat', args: [file], output_encoding: 'base64' }))
    const data = outputs.map((o: OutputEvent) => o.data as Buffer)
    expect(data.every((d) => Buffer.isBuffer(d))).toBe(true)
    expect(Buffer.concat(data).equals(bytes)).toBe(true)
  })
})

describe('validation', () => {
  it.each([
    ['timeout_grace', -1],
    ['timeout_grace', 'x'],
    ['idle_timeout', 0],
    ['idle_timeout', Infinity],
    ['output_encoding', 'hex'],
    ['stderr_mode', 'both'],
    ['max_output_bytes', 1],
    ['max_output_bytes', 2.5],
  ])('%s = %s throws a TypeError naming it', (field, value) => {
    const req = { command: 'true', [field]: value } as unknown as RunRequest
    // `run` ignores the stdio modes other than merging (as the Tensorlake API does).
    const launch = field === 'stderr_mode' ? () => sup.start(req) : () => sup.run(req)
    expect(launch).toThrow(TypeError)
    expect(launch).toThrow(new RegExp(`^${field}`))
  })
})
