/**
 * The OOM decision rule of docs/protocol.md "OOM" on real memory cgroups: oom_killed
 * only when the main process died of SIGKILL, its cgroup's oom_kill counter rose, and
 * sandproc did not send that SIGKILL. Runs on v1 here and on v2 inside the VM
 * (test/vm/run-v2.sh).
 */
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/supervisor.js'

// Stops by itself at 1 GiB with a code of its own: a limit that failed to apply must
// never set off the machine-wide OOM killer.
const HOG = 'a = []\nfor i in range(1024):\n    a.append(bytearray(1 << 20))\nraise SystemExit(3)'
const hog = { command: 'python3', args: ['-c', HOG], memory_limit: '64M' }

let sup: Supervisor

beforeAll(() => {
  sup = new Supervisor({ oomGroup: false })
})

afterAll(async () => {
  expect(ownCgroupDirs()).not.toEqual([])
  await sup.close()
  // Nothing of this process's supervisors may be left behind.
  expect(ownCgroupDirs()).toEqual([])
})

/** Per-supervisor cgroup directories of this process (named s<pid>-<random>). */
function ownCgroupDirs(): string[] {
  const out = execFileSync('find', ['/sys/fs/cgroup', '-maxdepth', '8', '-type', 'd', '-name', `s${process.pid}-*`], {
    encoding: 'utf8',
  })
  return out.split('\n').filter(Boolean)
}

describe('capabilities', () => {
  it('finds a memory cgroup with OOM detection on this machine', () => {
    expect(sup.capabilities.cgroup).not.toBeNull()
    expect(sup.capabilities.oomDetection).toBe(true)
  })
})

describe('an OOM kill', () => {
  it('is reported as {signal: 9, oom_killed: true}, ten times in a row', async () => {
    for (let i = 0; i < 10; i++) {
      const e = await sup.run(hog).exited
      expect(e.signal).toBe(9)
      expect(e.exit_code).toBeUndefined()
      expect(e.oom_killed).toBe(true)
      expect(e.oom_kills).toBe(1)
      expect(e.timed_out).toBeUndefined()
      expect(sup.get(sup.list().at(-1)!.pid)?.status).toBe('oom_killed')
    }
    // A hang guard sized for the emulated VM under a loaded CI machine, not a speed limit.
  }, 240_000)

  it("of a shell's child while the shell exits 0 is counted, not claimed", async () => {
    const e = await sup.run({ command: 'sh', args: ['-c', `python3 -c '${HOG}'; exit 0`], memory_limit: '64M' }).exited
    expect(e.exit_code).toBe(0)
    expect(e.oom_kills).toBe(1)
    expect(e.oom_killed).toBeUndefined()
  })

  it('with oomGroup (v2) takes the whole tree and is claimed for the main process', async () => {
    const grouped = new Supervisor({ oomGroup: true })
    try {
      const e = await grouped.run({ command: 'sh', args: ['-c', `python3 -c '${HOG}'; exit 0`], memory_limit: '64M' })
        .exited
      if (grouped.capabilities.cgroup === 'v2') {
        expect(e).toMatchObject({ signal: 9, oom_killed: true })
      } else {
        // v1 has no group kill: the shell lives on.
        expect(e).toMatchObject({ exit_code: 0, oom_kills: 1 })
      }
      expect(e.oom_kills).toBeGreaterThanOrEqual(1)
    } finally {
      await grouped.close()
    }
  })
})

describe('a SIGKILL that is not the OOM killer', () => {
  it('by timeout is never oom_killed', async () => {
    const e = await sup.run({ command: 'sleep', args: ['100'], timeout: 0.05, memory_limit: '64M' }).exited
    expect(e).toMatchObject({ signal: 9, timed_out: true, oom_kills: 0 })
    expect(e.oom_killed).toBeUndefined()
  })

  it('by proc.kill() is never oom_killed', async () => {
    const p = sup.run({ command: 'sleep', args: ['100'] })
    await p.started
    p.kill('SIGKILL')
    const e = await p.exited
    expect(e).toMatchObject({ signal: 9, oom_kills: 0 })
    expect(e.oom_killed).toBeUndefined()
  })

  it('from outside (kill -9) is never oom_killed', async () => {
    const p = sup.run({ command: 'sleep', args: ['100'] })
    const { pid } = await p.started
    process.kill(pid, 'SIGKILL')
    const e = await p.exited
    expect(e).toMatchObject({ signal: 9, oom_kills: 0 })
    expect(e.oom_killed).toBeUndefined()
  })

  it('exit 137 is an exit code, not a signal', async () => {
    const e = await sup.run({ command: 'sh', args: ['-c', 'exit 137'] }).exited
    expect(e).toMatchObject({ exit_code: 137, oom_kills: 0 })
    expect(e.signal).toBeUndefined()
    expect(e.oom_killed).toBeUndefined()
  })

  it('while an OOM-killing hog is being timed out is never oom_killed', async () => {
    // The hog runs in a loop under the limit's pressure; the timeout kills it first or
    // the OOM killer does: either way, the report must match who did it.
    const e = await sup.run({ ...hog, args: ['-c', 'import time\nwhile True: time.sleep(1)'], timeout: 0.05 }).exited
    expect(e).toMatchObject({ signal: 9, timed_out: true })
    expect(e.oom_killed).toBeUndefined()
  })
})

describe('usage', () => {
  it('memory peak of a process touching 100 MB is within 10% while the parent holds 1 GiB', async () => {
    const ballast = Buffer.alloc(1 << 30, 1)
    const e = await sup.run({ command: 'dd', args: ['if=/dev/zero', 'of=/dev/null', 'bs=100M', 'count=1'] }).exited
    expect(ballast[ballast.length - 1]).toBe(1)
    expect(e.exit_code).toBe(0)
    const peak = e.usage!.memory_peak_bytes!
    expect(Math.abs(peak - 100 * 2 ** 20) / (100 * 2 ** 20)).toBeLessThan(0.1)
    expect(e.usage!.wall_ms).toBeGreaterThan(0)
  })

  it('reports CPU time from the rusage', async () => {
    const e = await sup.run({ command: 'sh', args: ['-c', 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done'] }).exited
    expect(e.usage!.user_cpu_ms + e.usage!.system_cpu_ms).toBeGreaterThan(0)
  })
})
