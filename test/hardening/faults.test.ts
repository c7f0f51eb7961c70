/**
 * Faults (docs/guarantees.md): the supervisor killed with SIGKILL, close() with many
 * processes and one that ignores SIGTERM, and resource exhaustion (EMFILE from
 * RLIMIT_NOFILE, EAGAIN from a pids cgroup) giving clean coded errors after which the
 * supervisor still works. Each exhaustion runs in a child Node process (fixtures) so
 * this worker keeps its limits.
 */
import { spawn as spawnNode } from 'node:child_process'
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/index.js'
import type { SupervisedProcess } from '../../src/core/process.js'
import type { ExitEvent } from '../../src/types.js'
import { alive, children, FIXTURES, ROOT, supervisorCgroupDirs, until } from '../helpers/hardening.js'

interface Killed {
  pid: number
  children: number[]
  grandchildren: number[]
  cgroup: string | null
}

interface FixtureEnd<T> {
  code: number | null
  signal: NodeJS.Signals | null
  /** The first line of its stdout, parsed as JSON. */
  out: T | null
}

/** Runs a fixture under tsx; `onLine` gets its first line of stdout as soon as it is complete. */
function fixture<T>(
  name: string,
  args: string[],
  onLine?: (line: string) => void,
): { pid: number; done: Promise<FixtureEnd<T>> } {
  const child = spawnNode(process.execPath, ['--import', 'tsx', path.join(FIXTURES, name), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let text = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    text += d
    if (onLine !== undefined && text.includes('\n')) onLine(text.slice(0, text.indexOf('\n')))
  })
  const done = new Promise<FixtureEnd<T>>((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ code, signal, out: text.trim() === '' ? null : (JSON.parse(text.split('\n')[0]) as T) }),
    ),
  )
  return { pid: child.pid ?? 0, done }
}

describe('the supervisor killed with SIGKILL', () => {
  it('its children die with it (parent-death signal)', async () => {
    const count = 20
    let announce: (s: Killed) => void = () => {}
    const announced = new Promise<Killed>((resolve) => (announce = resolve))
    const sup = fixture<Killed>('killed-supervisor.ts', [String(count)], (line) => announce(JSON.parse(line) as Killed))
    const info = await announced
    expect(info.children).toHaveLength(count)
    for (const pid of info.children) expect(alive(pid)).toBe(true)
    process.kill(info.pid, 'SIGKILL')
    const ended = await sup.done
    expect(ended.signal).toBe('SIGKILL')
    // No event tells us that an unrelated process died: watch /proc until they are gone
    // (the test's own timeout bounds the wait).
    await until(() => info.children.every((pid) => !alive(pid)))
    for (const pid of info.children) expect(alive(pid)).toBe(false)
  })

  it('the descendants of its children die too, and its cgroups are removed (the watchdog)', async () => {
    let announce: (s: Killed) => void = () => {}
    const announced = new Promise<Killed>((resolve) => (announce = resolve))
    const sup = fixture<Killed>('killed-supervisor.ts', ['5', 'tree'], (line) => announce(JSON.parse(line) as Killed))
    const info = await announced
    try {
      expect(info.grandchildren).toHaveLength(5)
      for (const pid of info.grandchildren) expect(alive(pid)).toBe(true)
      if (info.cgroup !== null) expect(supervisorCgroupDirs(info.pid)).toBeGreaterThan(5)
      process.kill(info.pid, 'SIGKILL')
      expect((await sup.done).signal).toBe('SIGKILL')
      await until(() => [...info.children, ...info.grandchildren].every((pid) => !alive(pid)))
      await until(() => supervisorCgroupDirs(info.pid) === 0)
      expect(info.grandchildren.filter(alive)).toEqual([])
      expect(supervisorCgroupDirs(info.pid)).toBe(0)
    } finally {
      // Whatever survived is ours: end it by pid.
      for (const pid of info.grandchildren) if (alive(pid)) process.kill(pid, 'SIGKILL')
    }
  })

  it('without cgroups, the descendants of its children die too (the watchdog kills their process groups)', async () => {
    let announce: (s: Killed) => void = () => {}
    const announced = new Promise<Killed>((resolve) => (announce = resolve))
    const sup = fixture<Killed>('killed-supervisor.ts', ['5', 'tree', 'nocg'], (line) =>
      announce(JSON.parse(line) as Killed),
    )
    const info = await announced
    try {
      expect(info.cgroup).toBeNull()
      expect(info.grandchildren).toHaveLength(5)
      for (const pid of info.grandchildren) expect(alive(pid)).toBe(true)
      process.kill(info.pid, 'SIGKILL')
      expect((await sup.done).signal).toBe('SIGKILL')
      await until(() => [...info.children, ...info.grandchildren].every((pid) => !alive(pid)))
      expect(info.grandchildren.filter(alive)).toEqual([])
    } finally {
      for (const pid of info.grandchildren) if (alive(pid)) process.kill(pid, 'SIGKILL')
    }
  })
})

describe('close()', () => {
  it('ends 100 running processes with SIGTERM within the grace, SIGKILLs one that ignores SIGTERM, reaps all', async () => {
    const sup = new Supervisor({ killGrace: 1500 })
    const sleepers: SupervisedProcess[] = []
    for (let i = 0; i < 100; i++) sleepers.push(sup.run({ command: 'sleep', args: ['1000'] }))
    // A TERM-ignorer: the ignored disposition survives exec, so `sleep` ignores it too.
    const stubborn = sup.start({ command: 'sh', args: ['-c', 'trap "" TERM; echo ready; exec sleep 1000'] })
    await new Promise<void>((resolve) => stubborn.on('output', (ev) => ev.line === 'ready' && resolve()))
    await Promise.all(sleepers.map((p) => p.started))
    const pids = [...sleepers, stubborn].map((p) => p.pid)
    const exits: ExitEvent[] = []
    for (const p of sleepers) void p.exited.then((e) => exits.push(e))
    let stubbornExit: ExitEvent | null = null
    void stubborn.exited.then((e) => (stubbornExit = e))
    expect(sup.running).toBe(101)

    await sup.close()

    // Every sleeper ended by the SIGTERM, i.e. before the grace ran out.
    expect(exits).toHaveLength(100)
    expect(exits.every((e) => e.signal === 15 && e.exit_code === undefined)).toBe(true)
    // The ignorer outlived SIGTERM and got SIGKILL after the grace.
    expect(stubbornExit).toMatchObject({ signal: 9 })
    expect(sup.running).toBe(0)
    for (const pid of pids) expect(alive(pid)).toBe(false)
    // Reaped, not zombies: none of them is still our child.
    const left = new Set(children().map((c) => c.pid))
    expect(pids.filter((pid) => left.has(pid))).toEqual([])
    expect(() => sup.run({ command: 'true' })).toThrow(expect.objectContaining({ code: 'ERR_SUPERVISOR_CLOSED' }))
  })

  it('is idempotent and fine with nothing running', async () => {
    const sup = new Supervisor()
    const done = await sup.run({ command: 'sh', args: ['-c', 'exit 3'] }).exited
    expect(done).toMatchObject({ exit_code: 3 })
    await Promise.all([sup.close(), sup.close()])
    await sup.close()
    expect(sup.running).toBe(0)
  })
})

interface Exhaustion {
  sleepers: number
  running: number
  errors: Array<{ code: string; syscall: string; errno: number }>
  sleeperSignals: number[]
  after: ExitEvent
}

describe('resource exhaustion', () => {
  it('EMFILE (low RLIMIT_NOFILE): clean coded errors, no fd leaked, the supervisor keeps working', async () => {
    type Emfile = Exhaustion & {
      fdsBaseline: number
      fdsEnd: number
      fdsLeakedByFailures: number
    }
    const { code, out } = await fixture<Emfile>('emfile-supervisor.ts', ['40']).done
    expect(code).toBe(0)
    if (out === null) throw new Error('no output')
    expect(out.sleepers).toBeGreaterThan(0)
    expect(out.running).toBe(out.sleepers)
    expect(out.errors).toHaveLength(20)
    for (const e of out.errors) expect(e).toMatchObject({ code: 'EMFILE', errno: -24 })
    for (const e of out.errors) expect(['pipe2', 'clone', 'open', 'cgroup']).toContain(e.syscall)
    // Twenty failed spawns left no fd behind, and everything was released at the end.
    expect(out.fdsLeakedByFailures).toBe(0)
    expect(out.fdsEnd).toBe(out.fdsBaseline)
    expect(out.sleeperSignals).toEqual([9])
    expect(out.after).toMatchObject({ exit_code: 7 })
  })

  const PIDS = '/sys/fs/cgroup/pids'
  let pidsDir = ''
  beforeAll(() => {
    pidsDir = path.join(PIDS, `sandproc-hardening-${process.pid}`)
    mkdirSync(pidsDir)
  })
  afterAll(() => {
    rmdirSync(pidsDir)
  })

  it('EAGAIN (low pids limit): clean coded errors, the supervisor keeps working', async () => {
    const { code, out } = await fixture<Exhaustion>('eagain-supervisor.ts', [pidsDir, '10']).done
    expect(code).toBe(0)
    if (out === null) throw new Error('no output')
    expect(out.sleepers).toBe(10)
    expect(out.running).toBe(10)
    expect(out.errors).toHaveLength(20)
    for (const e of out.errors) expect(e).toEqual({ code: 'EAGAIN', syscall: 'clone', errno: -11 })
    expect(out.sleeperSignals).toEqual([9])
    expect(out.after).toMatchObject({ exit_code: 7 })
    // The fixture moved itself out again: the cgroup is empty.
    expect(readdirSync(pidsDir)).toContain('cgroup.procs')
  })
})
