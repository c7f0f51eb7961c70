/**
 * Freezing a process tree (docs/freeze.md) for real, on v1 here and on v2 in the VM
 * (test/vm/run-v2.sh): a tree that writes counters stops writing, every task of it is
 * frozen by the kernel's own account, thaw resumes it; a kill ends a frozen tree; the
 * timeout clock stops while frozen; no freezer is FREEZE_UNAVAILABLE.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

import type { SupervisedProcess } from '../../src/core/process.js'
import { Supervisor } from '../../src/supervisor.js'
import type { OutputEvent } from '../../src/types.js'
import { lineMatching } from '../helpers/events.js'
import { useSupervisor } from '../helpers/fixture.js'
import { isDead, stat, untilDead } from '../helpers/system.js'

let sup: Supervisor

useSupervisor((s) => (sup = s))

/**
 * A shell whose main loop writes `p<N>` and whose background child writes `c<N>`, each
 * forking a `sleep` every round: a tree of several processes, always busy.
 */
const CHATTY =
  '(j=0; while :; do j=$((j+1)); echo c$j; sleep 0.005; done) & i=0; while :; do i=$((i+1)); echo p$i; sleep 0.005; done'

/** The highest counter seen so far in lines starting with `tag`. */
function last(lines: OutputEvent[], tag: string): number {
  let n = 0
  for (const l of lines) if (l.line.startsWith(tag)) n = Math.max(n, Number(l.line.slice(1)))
  return n
}

/** Lets a real stretch of time pass by waiting on another process's exit event. */
async function elapse(seconds: number): Promise<void> {
  await sup.run({ command: 'sleep', args: [String(seconds)] }).exited
}

/** The cgroup files that tell about `pid`'s tree: its memory cgroup's procs, and where its freezer says frozen. */
function cgroupOf(pid: number): { procs: string; frozen: () => boolean } {
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')
  const v1 = (c: string): string | undefined => lines.find((l) => l.split(':')[1].split(',').includes(c))?.split(':')[2]
  if (sup.capabilities.cgroup === 'v2') {
    const dir = `/sys/fs/cgroup${lines.find((l) => l.startsWith('0::'))!.slice(3)}`
    return {
      procs: `${dir}/cgroup.procs`,
      frozen: () => /^frozen 1$/m.test(fs.readFileSync(`${dir}/cgroup.events`, 'utf8')),
    }
  }
  return {
    procs: `/sys/fs/cgroup/memory${v1('memory')}/cgroup.procs`,
    frozen: () => fs.readFileSync(`/sys/fs/cgroup/freezer${v1('freezer')}/freezer.state`, 'utf8').trim() === 'FROZEN',
  }
}

/** Every process of the tree (its memory cgroup's), each with what the kernel says of its freezer. */
function treeStates(pid: number): { pid: number; frozen: boolean; state: string | undefined }[] {
  const procs = fs.readFileSync(cgroupOf(pid).procs, 'utf8').trim().split('\n').map(Number)
  return procs.map((p) => ({ pid: p, frozen: cgroupOf(p).frozen(), state: stat(p)?.state }))
}

async function chatty(extra: { timeout?: number } = {}): Promise<{ proc: SupervisedProcess; lines: OutputEvent[] }> {
  const proc = sup.start({ command: 'sh', args: ['-c', CHATTY], ...extra })
  const lines: OutputEvent[] = []
  proc.on('output', (e: OutputEvent) => lines.push(e))
  await lineMatching(proc, (l) => l.startsWith('c'))
  return { proc, lines }
}

describe('freeze and thaw', () => {
  it('stops every task of the tree and its output; thaw resumes both', async () => {
    expect(sup.capabilities.controllers.freezer).toEqual({ usable: true })
    const { proc, lines } = await chatty()
    await proc.freeze()
    expect(proc.info()).toMatchObject({ status: 'running', frozen: true })
    const tree = treeStates(proc.pid)
    expect(tree.length).toBeGreaterThanOrEqual(2)
    for (const t of tree) expect(t).toMatchObject({ frozen: true })
    // v1 frozen tasks sleep uninterruptibly in the freezer; v2 ones in a signal-stop-like trap.
    if (sup.capabilities.cgroup === 'v1') for (const t of tree) expect(t.state).toBe('D')
    // What was in the pipe at the freeze is read by now; nothing new may come after.
    await elapse(0.2)
    const seen = { p: last(lines, 'p'), c: last(lines, 'c'), n: lines.length }
    await elapse(0.3)
    expect({ p: last(lines, 'p'), c: last(lines, 'c'), n: lines.length }).toEqual(seen)
    // Both loops go on from where they stopped.
    const resumed = Promise.all([
      lineMatching(proc, (l) => l === `p${seen.p + 2}`),
      lineMatching(proc, (l) => l === `c${seen.c + 2}`),
    ])
    await proc.thaw()
    expect(proc.info().frozen).toBeUndefined()
    expect(cgroupOf(proc.pid).frozen()).toBe(false)
    await resumed
    proc.killTree()
    await proc.exited
  })

  it('is idempotent both ways and serialises overlapping calls', async () => {
    const { proc } = await chatty()
    await Promise.all([proc.freeze(), proc.freeze()])
    await proc.freeze()
    expect(proc.frozen).toBe(true)
    await Promise.all([proc.thaw(), proc.thaw()])
    await proc.thaw()
    expect(proc.frozen).toBe(false)
    await lineMatching(proc, (l) => l.startsWith('p'))
    proc.killTree()
    await proc.exited
  })

  it('kills a frozen tree: killTree() (DELETE) and kill() both end with signal 9 and an exit event', async () => {
    for (const kill of [(p: SupervisedProcess) => p.killTree(), (p: SupervisedProcess) => p.kill()]) {
      const { proc } = await chatty()
      await proc.freeze()
      const tree = treeStates(proc.pid).map((t) => t.pid)
      kill(proc)
      const exit = await proc.exited
      expect(exit).toMatchObject({ signal: 9, reason: 'killed', killed_by: 'api' })
      expect(exit.oom_killed).toBeUndefined()
      expect(proc.info().frozen).toBeUndefined()
      for (const pid of tree) await untilDead(pid)
    }
  })

  it('stops the timeout clock while frozen; after the thaw the rest of it runs out', async () => {
    const { proc } = await chatty({ timeout: 1 })
    await proc.freeze()
    // Frozen for longer than the whole timeout: it must not fire.
    await elapse(1.5)
    expect(proc.info()).toMatchObject({ status: 'running', frozen: true })
    await proc.thaw()
    const exit = await proc.exited
    expect(exit).toMatchObject({ signal: 9, reason: 'timed_out', timed_out: true })
  })

  it('after the thaw the timeout has what it had left, not the whole timeout again', async () => {
    const { proc } = await chatty({ timeout: 3 })
    await elapse(1)
    await proc.freeze()
    await elapse(1)
    await proc.thaw()
    // About 2 s were left at the freeze: the exit must come before a 2.6 s sleep started
    // now ends (a timeout started over would need 3 s).
    const first = await Promise.race([
      proc.exited.then(() => 'timeout'),
      sup.run({ command: 'sleep', args: ['2.6'] }).exited.then(() => 'sleep'),
    ])
    expect(first).toBe('timeout')
    expect(await proc.exited).toMatchObject({ reason: 'timed_out' })
  })

  it('refuses an ended process with PROCESS_NOT_RUNNING', async () => {
    const proc = sup.start({ command: 'true' })
    await proc.exited
    await expect(proc.freeze()).rejects.toMatchObject({ code: 'PROCESS_NOT_RUNNING' })
    await expect(proc.thaw()).rejects.toMatchObject({ code: 'PROCESS_NOT_RUNNING' })
  })

  it('close() ends a frozen tree: its SIGTERM is acted on', async () => {
    const own = new Supervisor({ killGrace: 60_000 })
    const proc = own.start({
      command: 'sh',
      args: ['-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.01; done'],
    })
    // Frozen only once the trap is set: a SIGTERM before it would end the shell anyway.
    await lineMatching(proc, (l) => l === 'ready')
    await proc.freeze()
    await own.close()
    expect(await proc.exited).toMatchObject({ exit_code: 7, reason: 'killed', killed_by: 'shutdown' })
    expect(isDead(proc.pid)).toBe(true)
  })
})

describe('a supervisor that dies', () => {
  it('leaves no frozen tree behind: its watchdog kills the tree and thaws it', async () => {
    const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'child-supervisor.ts')
    const child = spawn(process.execPath, ['--import', 'tsx', helper, 'frozen'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const { pids } = await new Promise<{ pids: number[] }>((resolve) => {
      let text = ''
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString()
        if (text.includes('\n')) resolve(JSON.parse(text.slice(0, text.indexOf('\n'))))
      })
    })
    expect(pids).toHaveLength(2)
    for (const pid of pids) expect(cgroupOf(pid).frozen()).toBe(true)
    const exited = new Promise((resolve) => child.once('exit', resolve))
    process.kill(child.pid!, 'SIGKILL')
    await exited
    for (const pid of pids) await untilDead(pid)
  })
})

describe('without a freezer', () => {
  it('cgroup: false and hierarchies.freezer: false reject with FREEZE_UNAVAILABLE', async () => {
    for (const opts of [{ cgroup: false as const }, { cgroup: { hierarchies: { freezer: false as const } } }]) {
      const own = new Supervisor(opts)
      expect(own.capabilities.controllers.freezer.usable).toBe(false)
      const proc = own.start({ command: 'sleep', args: ['100'] })
      await proc.started
      await expect(proc.freeze()).rejects.toMatchObject({ code: 'FREEZE_UNAVAILABLE' })
      expect(proc.info().frozen).toBeUndefined()
      await own.close()
    }
  })
})
