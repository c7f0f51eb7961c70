/**
 * pids_limit for real (v1 here, where pids is a hierarchy of its own; v2 in the VM): a
 * fork bomb is contained and reported, a tree below its limit is counted exactly, and
 * the supervisor keeps working meanwhile. The bomb bounds itself (test/fixtures/cgroup/
 * forkbomb.c: at most 511 processes, each gone after 300 s), so a limit that fails to
 * apply cannot take the machine down.
 */
import fs from 'node:fs'
import { describe, expect, it } from 'vitest'

import type { Supervisor } from '../../src/supervisor.js'
import { collect, lineMatching } from '../helpers/events.js'
import { useSupervisor } from '../helpers/fixture.js'
import { compileFixture } from '../fixtures/cgroup/compile.js'

let sup: Supervisor
useSupervisor((s) => (sup = s))

/** Pids of live (not zombie) processes running `exe`. */
function running(exe: string): number[] {
  const out: number[] = []
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (fs.readlinkSync(`/proc/${name}/exe`) !== exe) continue
      if (!/^State:\s+Z/m.test(fs.readFileSync(`/proc/${name}/status`, 'utf8'))) out.push(Number(name))
    } catch {
      // Gone meanwhile, or a zombie (whose exe link is unreadable).
    }
  }
  return out
}

/** The directory of `pid`'s cgroup that has the pids controller (v1 pids line, else v2). */
function pidsCgroupOf(pid: number): string {
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')
  const v1 = lines.find((l) => l.split(':')[1].split(',').includes('pids'))
  if (v1 !== undefined) return `/sys/fs/cgroup/pids${v1.split(':')[2]}`
  return `/sys/fs/cgroup${lines.find((l) => l.startsWith('0::'))!.slice(3)}`
}

// A generous bound for the slow v2 VM (a start-up there can take seconds), not a measurement.
describe('pids_limit', { timeout: 300_000 }, () => {
  it('the pids controller is usable here', () => {
    expect(sup.capabilities.controllers.pids).toEqual({ usable: true })
  })

  it('contains a fork bomb: forks fail with EAGAIN, hits are reported, nothing survives', async () => {
    const bomb = compileFixture('forkbomb')
    // A timeout too, in case the bomb never reports: it is killed with its tree.
    const proc = sup.start({ command: bomb, args: ['8'], stdin_mode: 'pipe', pids_limit: 64, timeout: 120 })
    const done = collect(proc)
    await lineMatching(proc, (l) => l === 'contained EAGAIN')
    // The bomb is held at its limit: the supervisor still starts and finishes others.
    const others = await Promise.all(
      Array.from({ length: 20 }, (_, i) => collect(sup.run({ command: 'sh', args: ['-c', `echo ok ${i}`] }))),
    )
    expect(others.map((o) => [o.exit.exit_code, o.stdout])).toEqual(others.map((_, i) => [0, [`ok ${i}`]]))
    proc.closeStdin()
    const { exit, stdout } = await done
    expect(stdout).toEqual(['contained EAGAIN'])
    expect(exit.exit_code).toBe(0)
    expect(exit.timed_out).toBeUndefined()
    expect(exit.pids_limit_hits).toBeGreaterThan(0)
    expect(exit.usage?.pids_peak ?? 64).toBeLessThanOrEqual(64)
    expect(sup.get(proc.pid)?.pids_limit_hits).toBe(exit.pids_limit_hits)
    // The exit event comes after the cgroup was emptied: nothing of the bomb is left.
    expect(running(bomb)).toEqual([])
    console.info(
      `fork bomb under pids_limit 64: ${JSON.stringify({ pids_limit_hits: exit.pids_limit_hits, pids_peak: exit.usage?.pids_peak, wall_ms: exit.usage?.wall_ms })}`,
    )
  })

  it('a program with 10 children under pids_limit 64: no hits, a peak of 11 or more', async () => {
    // Background jobs of a non-interactive shell read /dev/null unless redirected: fd 3.
    const script = 'exec 3<&0; for i in 1 2 3 4 5 6 7 8 9 10; do cat <&3 & done; echo ready; wait'
    const proc = sup.start({ command: 'sh', args: ['-c', script], stdin_mode: 'pipe', pids_limit: 64 })
    const done = collect(proc)
    await lineMatching(proc, (l) => l === 'ready')
    // Whether this kernel has pids.peak at all, seen in the running process's own cgroup.
    const hasPeak = fs.existsSync(`${pidsCgroupOf(proc.pid)}/pids.peak`)
    proc.closeStdin()
    const { exit } = await done
    expect(exit.exit_code).toBe(0)
    expect(exit.pids_limit_hits).toBe(0)
    if (hasPeak) expect(exit.usage?.pids_peak).toBeGreaterThanOrEqual(11)
    else expect(exit.usage?.pids_peak).toBeNull()
  })

  it('without a pids limit, no pids figures', async () => {
    const { exit } = await collect(sup.run({ command: 'true' }))
    expect(exit.pids_limit_hits).toBeUndefined()
    expect(exit.usage?.pids_peak).toBeUndefined()
  })

  it('a limit too low for the program: its fork fails, the exit says so', async () => {
    const { exit, stderr } = await collect(
      sup.run({ command: 'sh', args: ['-c', 'true & wait; echo never'], pids_limit: 1 }),
    )
    expect(exit.exit_code).not.toBe(0)
    expect(exit.pids_limit_hits).toBeGreaterThanOrEqual(1)
    expect(stderr.join('\n')).toMatch(/fork/i)
  })
})
