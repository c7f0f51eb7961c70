/**
 * The managed state machine on real processes (docs/protocol.md "Managed processes"):
 * policies, backoff, max_restarts, later spawn failures, OOM kills, stop and restart
 * in each state, concurrency and close.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

import type { ManagedProcess } from '../../src/managed/process.js'
import { Supervisor } from '../../src/supervisor.js'
import type { ExitEvent, ManagedStartRequest, RestartSpec } from '../../src/types.js'
import { useSupervisor } from '../helpers/fixture.js'
import { afterTimersDue, next, record, untilStatus } from '../helpers/managed.js'
import { isDead, script } from '../helpers/system.js'

let sup: Supervisor
let dir: string
useSupervisor((s, d) => ((sup = s as Supervisor), (dir = d)), { killGrace: 300 })

const fast: RestartSpec = { initial_backoff_ms: 20, max_backoff_ms: 160 }
let seq = 0

function start(args: string, restart: RestartSpec = fast, extra: Partial<ManagedStartRequest> = {}): ManagedProcess {
  return sup.start({ command: 'sh', args: ['-c', args], name: `p${++seq}`, restart, ...extra } as ManagedStartRequest)
}

describe('restart policies', () => {
  it('on_failure: exit 0 stops, with no restart and no last_error', async () => {
    const m = start('exit 0')
    await untilStatus(m, 'stopped')
    expect(m.managedInfo()).toMatchObject({
      status: 'stopped',
      restart_count: 0,
      last_error: null,
      last_exit: { exit_code: 0, signal: null, oom_killed: false },
    })
  })

  it('on_failure: exit 3 restarts', async () => {
    const m = start('exit 3', { ...fast, max_restarts: 1 })
    const first = (await m.started).pid
    const [, run] = await next(m, 'start')
    expect(run.pid).not.toBe(first)
    await untilStatus(m, 'stopped')
    expect(m.managedInfo()).toMatchObject({ restart_count: 1, last_exit: { exit_code: 3 } })
  })

  it('always: exit 0 restarts', async () => {
    const m = start('exit 0', { ...fast, policy: 'always', max_restarts: 2 })
    await untilStatus(m, 'stopped')
    expect(m.managedInfo()).toMatchObject({ restart_count: 2, last_exit: { exit_code: 0 } })
  })

  it('never: exit 3 stays down and says why', async () => {
    const m = start('exit 3', { ...fast, policy: 'never' })
    const events = record(m)
    await untilStatus(m, 'stopped')
    expect(events.some((e) => e.name === 'scheduled')).toBe(false)
    expect(m.managedInfo()).toMatchObject({ restart_count: 0, last_exit: { exit_code: 3 } })
    expect(m.managedInfo().last_error).toContain('never')
  })

  it('a signal from someone else is a failure and restarts', async () => {
    const m = start('exec sleep 1000', { ...fast, max_restarts: 1 })
    await m.started
    m.current.kill('SIGKILL')
    const [, , end] = await next(m, 'exit')
    expect(end).toEqual({ failure: true, ended_by: null })
    await next(m, 'start')
    expect(m.managedInfo().last_exit).toMatchObject({ exit_code: null, signal: 9 })
    await m.stop()
  })
})

describe('backoff', () => {
  it('a crash loop doubles its delay up to the cap, measured from the events', async () => {
    // A cap well above how long `exit 1` lasts, even on a slow machine: no run resets k.
    const m = start('exit 1', { initial_backoff_ms: 40, max_backoff_ms: 640, max_restarts: 6 })
    const events = record(m)
    await untilStatus(m, 'stopped')
    const scheduled = events
      .filter((e) => e.name === 'scheduled')
      .map((e) => e.args[0] as { delay_ms: number; at: number; next_restart_at: number })
    // The k-th delay is min(40 × 2^(k−1), 640), k reset by a run of at least 640 ms (spawn
    // to reap): on a machine slow enough for `exit 1` to take that long, the reset is right.
    const ran = events.filter((e) => e.name === 'exit').map((e) => (e.args[0] as ExitEvent).usage?.wall_ms ?? 0)
    let k = 0
    const expected = ran.slice(0, 6).map((ms) => {
      k = ms >= 640 ? 1 : k + 1
      return Math.min(40 * 2 ** (k - 1), 640)
    })
    expect(scheduled.map((s) => s.delay_ms)).toEqual(expected)
    if (ran.every((ms) => ms < 640)) expect(expected).toEqual([40, 80, 160, 320, 640, 640])
    for (const s of scheduled) expect(s.next_restart_at - s.at).toBe(s.delay_ms)
    // Each later run is launched no earlier than its delay after the scheduling (1 ms of clock granularity).
    const launches = events.filter(
      (e) => e.name === 'status' && (e.args[0] as { status: string; previous: string }).previous === 'backing_off',
    )
    expect(launches).toHaveLength(6)
    launches.forEach((l, i) =>
      expect((l.args[0] as { at: number }).at - scheduled[i].at).toBeGreaterThanOrEqual(scheduled[i].delay_ms - 1),
    )
    expect(m.managedInfo()).toMatchObject({
      restart_count: 6,
      last_error: 'max_restarts (6) reached',
      next_restart_at: null,
    })
  })

  it('a run that lasted max_backoff_ms resets the delay', async () => {
    // Runs 1, 2 and 4 crash at once; run 3 lasts longer than max_backoff_ms.
    const counter = path.join(dir, `count-${++seq}`)
    const m = start(
      `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; [ $n = 3 ] && sleep 1.5; exit 1`,
      {
        initial_backoff_ms: 50,
        max_backoff_ms: 1000,
        max_restarts: 3,
      },
    )
    const events = record(m)
    await untilStatus(m, 'stopped')
    const delays = events
      .filter((e) => e.name === 'scheduled')
      .map((e) => e.args[0] as { delay_ms: number; attempt: number })
    expect(delays.map((d) => d.delay_ms)).toEqual([50, 100, 50])
    expect(delays.map((d) => d.attempt)).toEqual([1, 2, 1])
  })

  it('a manual restart resets the delay and max_restarts', async () => {
    const m = start('exit 1', { initial_backoff_ms: 40, max_backoff_ms: 640, max_restarts: 2 })
    await untilStatus(m, 'stopped')
    const events = record(m)
    await m.restart()
    await untilStatus(m, 'stopped')
    const delays = events.filter((e) => e.name === 'scheduled').map((e) => (e.args[0] as { delay_ms: number }).delay_ms)
    expect(delays).toEqual([40, 80])
    // 2 automatic + 1 manual + 2 automatic: restart_count never resets.
    expect(m.managedInfo().restart_count).toBe(5)
  })
})

describe('failures', () => {
  it('a later run that cannot start: last_error with its errno code, then the policy', async () => {
    const prog = script(path.join(dir, `prog-${++seq}`), '#!/bin/sh\nexit 1\n')
    const m = sup.start({ command: prog, name: `gone-${seq}`, restart: { ...fast, max_restarts: 2 } })
    await m.started
    const events = record(m)
    // Deleted between runs: the next spawn fails with ENOENT.
    m.once('exit', () => fs.rmSync(prog))
    const [err] = await next(m, 'spawn-error')
    expect(err.code).toBe('ENOENT')
    expect(m.managedInfo().last_error).toContain('ENOENT')
    // A failure like any other: the policy schedules the next attempt.
    expect(m.status).toBe('backing_off')
    await untilStatus(m, 'stopped')
    expect(events.map((e) => e.name).filter((n) => n !== 'status')).toEqual([
      'exit',
      'scheduled',
      'spawn-error',
      'scheduled',
      'spawn-error',
    ])
    // Why no restart followed, and why the last run could not start.
    expect(m.managedInfo().last_error).toMatch(
      /^max_restarts \(2\) reached; the last run could not start: spawn failed: .*ENOENT/,
    )
  })

  it('a first run that cannot start rejects started and keeps nothing', async () => {
    const name = `nope-${++seq}`
    const m = sup.start({ command: path.join(dir, 'no-such-program'), name })
    await expect(m.started).rejects.toMatchObject({ code: 'ENOENT' })
    expect(sup.managed(name)).toBeUndefined()
    expect(sup.list().some((p) => p.managed?.name === name)).toBe(false)
  })

  it('an OOM-killed run shows oom_killed, counts as a failure and restarts; memory_limit applies to every run', async () => {
    const hog = 'a = []\nfor i in range(1024):\n    a.append(bytearray(1 << 20))\nraise SystemExit(3)'
    const m = sup.start({
      command: 'python3',
      args: ['-c', hog],
      memory_limit: '64M',
      name: `oom-${++seq}`,
      restart: { ...fast, max_restarts: 1 },
    })
    const exits: Array<{ oom: boolean | undefined; failure: boolean }> = []
    m.on('exit', (ev, _run, end) => exits.push({ oom: ev.oom_killed, failure: end.failure }))
    await untilStatus(m, 'stopped')
    expect(exits).toEqual([
      { oom: true, failure: true },
      { oom: true, failure: true },
    ])
    expect(m.info()).toMatchObject({
      status: 'oom_killed',
      signal: 9,
      oom_killed: true,
      managed: { restart_count: 1, last_exit: { signal: 9, oom_killed: true } },
    })
  })
})

describe('stop (DELETE) in each state', () => {
  it('running: kills the tree, stopped, nothing restarts', async () => {
    const m = start('sleep 1000 & exec sleep 1000', { ...fast, policy: 'always' })
    const { pid } = await m.started
    const total = sup.total
    const [ended] = await Promise.all([next(m, 'exit'), m.stop()])
    expect(ended[2]).toEqual({ failure: false, ended_by: 'delete' })
    expect(m.status).toBe('stopped')
    expect(isDead(pid)).toBe(true)
    await afterTimersDue(160)
    expect(sup.total).toBe(total)
  })

  it('starting: the queued run is ended the moment it exists and never shows as running', async () => {
    const m = start('exit 1', { ...fast, policy: 'always' })
    await m.started
    await untilStatus(m, 'starting')
    const events = record(m)
    await m.stop()
    expect(m.status).toBe('stopped')
    expect(events.filter((e) => e.name === 'status').map((e) => (e.args[0] as { status: string }).status)).toEqual([
      'stopped',
    ])
    expect(m.current.running).toBe(false)
  })

  it('backing_off: cancels the pending restart', async () => {
    const m = start('exit 1', { initial_backoff_ms: 50 })
    await next(m, 'scheduled')
    const total = sup.total
    await m.stop()
    expect(m.managedInfo()).toMatchObject({ status: 'stopped', next_restart_at: null })
    await afterTimersDue(50)
    expect(sup.total).toBe(total)
  })

  it('stopped: nothing', async () => {
    const m = start('exit 0')
    await untilStatus(m, 'stopped')
    const events = record(m)
    await m.stop()
    expect(events).toEqual([])
  })

  it('racing a pending restart 100 times: no run starts after it', async () => {
    for (let i = 0; i < 100; i++) {
      const m = start('exit 1', { initial_backoff_ms: 5, policy: 'always' })
      const [s] = await next(m, 'scheduled')
      // Just before, at, and just after next_restart_at.
      const offset = (i % 3) - 1
      await new Promise<void>((resolve) => setTimeout(resolve, s.delay_ms + offset))
      await m.stop()
      const total = sup.total
      const starts = record(m)
      await afterTimersDue(s.delay_ms)
      expect(m.status).toBe('stopped')
      expect(m.current.running).toBe(false)
      expect(sup.total).toBe(total)
      expect(starts).toEqual([])
    }
  })
})

describe('restart in each state', () => {
  it('running: ends the tree (not a failure), waits for the reap, starts a new run', async () => {
    const m = start('sleep 1000 & exec sleep 1000')
    const { pid } = await m.started
    const events = record(m)
    const info = await m.restart()
    expect(info.pid).not.toBe(pid)
    expect(isDead(pid)).toBe(true)
    const exit = events.find((e) => e.name === 'exit')
    expect(exit?.args[2]).toEqual({ failure: false, ended_by: 'restart' })
    expect(events.some((e) => e.name === 'scheduled')).toBe(false)
    expect(info.managed).toMatchObject({ status: 'running', restart_count: 1 })
    await m.stop()
  })

  it('running, ignoring SIGTERM: SIGKILL after the kill grace', async () => {
    const m = start("trap '' TERM; echo ready; while :; do sleep 0.05; done")
    await next(m, 'output')
    const old = m.current
    await m.restart()
    expect(old.exitEvent).toMatchObject({ signal: 9 })
    await m.stop()
  })

  it('an exit during a manual restart is not counted as a failure', async () => {
    const m = start("trap 'exit 1' TERM; echo ready; while :; do sleep 0.05; done")
    await next(m, 'output')
    const events = record(m)
    await m.restart()
    const exit = events.find((e) => e.name === 'exit')
    expect(exit?.args[0]).toMatchObject({ exit_code: 1 })
    expect(exit?.args[2]).toEqual({ failure: false, ended_by: 'restart' })
    expect(events.some((e) => e.name === 'scheduled')).toBe(false)
    await m.stop()
  })

  it('starting: ends the queued run and starts another', async () => {
    const m = start('exit 1', { ...fast, policy: 'always' })
    const first = await m.started
    await untilStatus(m, 'starting')
    const queued = m.current
    // While a later run is queued, ProcessInfo still shows the previous run and its pid.
    expect(queued.pending).toBe(true)
    expect(m.info()).toMatchObject({ pid: first.pid, status: 'exited', managed: { status: 'starting' } })
    const info = await m.restart()
    expect(queued.running).toBe(false)
    expect(info.pid).not.toBe(queued.pid)
    await m.stop()
  })

  it('backing_off: cancels the wait and starts now', async () => {
    const m = start('exit 1', { initial_backoff_ms: 60_000 })
    await next(m, 'scheduled')
    const total = sup.total
    const info = await m.restart()
    expect(sup.total).toBe(total + 1)
    expect(info.managed?.next_restart_at).toBeNull()
    await m.stop()
  })

  it('stopped: starts a new run', async () => {
    const m = start('echo run; exec sleep 1000')
    await m.started
    await m.stop()
    const info = await m.restart()
    expect(info.managed?.status).toBe('running')
    expect(info.status).toBe('running')
    await m.stop()
  })

  it('five concurrent restarts: each gets its run, and one run is alive at the end', async () => {
    const m = start('exec sleep 1000')
    await m.started
    const infos = await Promise.all([1, 2, 3, 4, 5].map(() => m.restart()))
    const pids = infos.map((i) => i.pid)
    expect(new Set(pids).size).toBe(5)
    expect(pids.slice(0, 4).every((p) => isDead(p))).toBe(true)
    expect(isDead(pids[4])).toBe(false)
    expect(m.info().pid).toBe(pids[4])
    expect(m.managedInfo().restart_count).toBe(5)
    await m.stop()
  })
})

describe('output', () => {
  it('one log across runs, and output events of every run', async () => {
    const m = start('echo line; exit 1', { ...fast, max_restarts: 2 })
    await untilStatus(m, 'stopped')
    expect(m.log.snapshot('stdout').lines.map((l) => l.line)).toEqual(['line', 'line', 'line'])
    expect(m.log.ended).toBe(true)
  })
})

describe('close()', () => {
  it('during running and backing_off: every run ends and nothing starts after', async () => {
    const own = new Supervisor({ killGrace: 300 })
    const running = own.start({
      command: 'sleep',
      args: ['1000'],
      name: 'r',
      restart: { policy: 'always', initial_backoff_ms: 1 },
    })
    const backing = own.start({ command: 'false', name: 'b', restart: { initial_backoff_ms: 30 } })
    await running.started
    await next(backing, 'scheduled')
    const starts = [record(running), record(backing)]
    await own.close()
    const total = own.total
    expect(running.status).toBe('stopped')
    expect(backing.status).toBe('stopped')
    await afterTimersDue(30)
    expect(own.total).toBe(total)
    for (const ev of starts) expect(ev.filter((e) => e.name === 'start')).toEqual([])
    expect(() => own.start({ command: 'true', name: 'late' })).toThrow(
      expect.objectContaining({ code: 'ERR_SUPERVISOR_CLOSED' }),
    )
  })

  it('racing a pending restart 30 times: nothing starts after close() began', async () => {
    for (let i = 0; i < 30; i++) {
      const own = new Supervisor({ cgroup: false, watchdog: false })
      const m = own.start({ command: 'false', name: 'x', restart: { policy: 'always', initial_backoff_ms: 5 } })
      const [s] = await next(m, 'scheduled')
      // Just before, at, and just after next_restart_at.
      await new Promise<void>((resolve) => setTimeout(resolve, s.delay_ms + (i % 3) - 1))
      const closing = own.close()
      const total = own.total
      await closing
      await afterTimersDue(s.delay_ms)
      expect(own.total).toBe(total)
      expect(m.status).toBe('stopped')
      expect(m.current.running).toBe(false)
    }
  })
})
