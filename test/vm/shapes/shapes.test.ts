/**
 * The deployment shapes of docs/deploying.md, for real, on cgroup v2 inside the VM
 * (test/vm/shapes.sh; never on a development machine: it rearranges the root cgroup).
 * In each, `sandproc serve` is started by a shell that first puts itself where the shape
 * says; then a hog under a 64M limit is reported `oom_killed`, a SIGKILL that is not an
 * OOM kill is not, and once it stops no cgroup named `sandproc` or `sandproc-<pid>` is left. The start-up lines
 * are printed for docs/deploying.md.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'

import {
  api,
  CG,
  childOf,
  launch,
  listening,
  runToEnd,
  sandprocCgroups,
  stop,
  writeProcs,
  type Served,
} from './serve.js'

// Stops by itself at 1 GiB with a code of its own, should a limit fail to apply.
const HOG = {
  command: 'python3',
  args: ['-c', 'a = []\nfor i in range(1024):\n    a.append(bytearray(1 << 20))\nraise SystemExit(3)'],
  memory_limit: '64M',
}
const SELF_KILL = { command: 'sh', args: ['-c', 'kill -9 $$'], memory_limit: '64M' }

/** Cleanup of one shape: processes to kill, then cgroups to remove (deepest first). */
const sleepers: ChildProcess[] = []
const servers: ChildProcess[] = []
const made: string[] = []

/** {@link launch}, its process killed after the test should the test not get to stop it. */
function serve(script: string): Served {
  const s = launch(script)
  servers.push(s.child)
  return s
}

function mkcg(...parts: string[]): string {
  const dir = path.join(CG, ...parts)
  fs.mkdirSync(dir, { recursive: true })
  made.push(dir)
  return dir
}

function enableMemory(dir: string): void {
  fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), '+memory')
}

/** A process that is not sandproc's, in `dir`: what an agent's shell would be. */
function sibling(dir: string): void {
  const p = spawn('sleep', ['infinity'], { stdio: 'ignore' })
  sleepers.push(p)
  writeProcs(dir, p.pid!)
}

afterEach(async () => {
  for (const p of [...servers.splice(0), ...sleepers.splice(0)]) {
    p.kill('SIGKILL')
    if (p.exitCode === null && p.signalCode === null) await new Promise((r) => p.once('close', r))
  }
  for (const dir of made.splice(0).reverse()) {
    // Leaves sandproc made and left on purpose (the supervisor's, a container's init).
    for (const leaf of ['supervisor', 'init'])
      if (fs.existsSync(path.join(dir, leaf))) fs.rmdirSync(path.join(dir, leaf))
    if (fs.existsSync(dir)) fs.rmdirSync(dir)
  }
})

beforeAll(() => {
  expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).toMatch(/ \/sys\/fs\/cgroup .* - cgroup2 /)
})

function report(shape: string, s: Served): void {
  console.log(`--- ${shape}: serve printed at start:\n${s.startup.join('\n')}`)
}

/** The OOM case and the SIGKILL case, with OOM detection on. */
async function oomIsExact(s: Served): Promise<void> {
  const oom = await runToEnd(s, HOG)
  expect(oom.exit).toMatchObject({ signal: 9, oom_killed: true })
  const killed = await runToEnd(s, SELF_KILL)
  expect(killed.exit).toMatchObject({ signal: 9 })
  expect(killed.exit.oom_killed ?? false).toBe(false)
}

/** Stops it and checks that nothing of it is left. */
async function stopClean(s: Served, pid?: number): Promise<void> {
  await stop(s, pid)
  expect(sandprocCgroups()).toEqual([])
}

async function capabilities(s: Served): Promise<Record<string, unknown>> {
  const info = (await (await api(s, '/info')).json()) as { capabilities: Record<string, unknown> }
  return info.capabilities
}

describe('deployment shapes on cgroup v2', () => {
  it('the root cgroup (a VM init): under <root>/sandproc', async () => {
    const s = await listening(serve('exec $SERVE'))
    report('root cgroup', s)
    expect(await capabilities(s)).toMatchObject({
      cgroup: 'v2',
      oomDetection: true,
      placement: 'own',
      dir: expect.stringMatching(/^\/sys\/fs\/cgroup\/sandproc\/s\d+-/),
    })
    expect(s.startup[0]).toMatch(
      /^sandproc: per-process cgroups in \/sys\/fs\/cgroup\/sandproc\/s\d+-\w+ \(cgroup v2, under its own cgroup\); OOM detection on$/,
    )
    await oomIsExact(s)
    await stopClean(s)
  })

  it('a cgroup shared with an agent (process_api/<id>): under <ancestor>/sandproc-<pid>, the agent left where it is', async () => {
    mkcg('process_api')
    const shared = mkcg('process_api', 'a1b2c3')
    sibling(shared)
    const s = await listening(serve(`echo $$ > ${shared}/cgroup.procs && exec $SERVE`))
    report('shared cgroup', s)
    const pid = s.child.pid!
    expect(await capabilities(s)).toMatchObject({
      oomDetection: true,
      placement: 'ancestor',
      dir: expect.stringMatching(new RegExp(`^${CG}/process_api/sandproc-${pid}/s${pid}-`)),
    })
    // Nothing of the agent's moved; the supervisor too stays in its cgroup.
    for (const p of [sleepers[0].pid, pid])
      expect(fs.readFileSync(`/proc/${p}/cgroup`, 'utf8')).toBe('0::/process_api/a1b2c3\n')
    await oomIsExact(s)
    await stopClean(s)
  })

  it('--cgroup-parent DIR, from a shared cgroup: under DIR', async () => {
    const shared = mkcg('agent')
    sibling(shared)
    enableMemory(CG)
    const parent = mkcg('sandboxes')
    const s = await listening(serve(`echo $$ > ${shared}/cgroup.procs && exec $SERVE --cgroup-parent ${parent}`))
    report('--cgroup-parent', s)
    expect(await capabilities(s)).toMatchObject({
      oomDetection: true,
      placement: 'parent',
      dir: expect.stringMatching(new RegExp(`^${parent}/s\\d+-`)),
    })
    await oomIsExact(s)
    await stopClean(s)
    expect(fs.readdirSync(parent).filter((e) => fs.statSync(path.join(parent, e)).isDirectory())).toEqual([])
  })

  it('a delegated systemd unit at OOMScoreAdjust=-1000: the leaf move; children at oom_score_adj 0, root or not', async () => {
    enableMemory(CG)
    enableMemory(mkcg('system.slice'))
    const unit = mkcg('system.slice', 'sandproc.service')
    const s = await listening(serve(`echo $$ > ${unit}/cgroup.procs && exec choom -n -1000 -- $SERVE`))
    report('delegated systemd unit', s)
    const pid = s.child.pid!
    expect(await capabilities(s)).toMatchObject({
      oomDetection: true,
      placement: 'own',
      dir: expect.stringMatching(new RegExp(`^${unit}/sandproc/s${pid}-`)),
    })
    // With its watchdog, a helper it started itself.
    expect(fs.readFileSync(`${unit}/supervisor/cgroup.procs`, 'utf8').trim().split('\n')).toContain(String(pid))
    expect(fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim()).toBe('-1000')
    for (const user of [undefined, 'nobody']) {
      const r = await runToEnd(s, {
        command: 'cat',
        args: ['/proc/self/oom_score_adj'],
        ...(user === undefined ? {} : { user }),
      })
      expect(r.lines).toEqual(['0'])
    }
    await oomIsExact(s)
    await stopClean(s)
  })

  it('a systemd unit without Delegate=yes, shared: it stays in its unit, OOM detection off, the fix says Delegate=yes', async () => {
    enableMemory(CG)
    enableMemory(mkcg('system.slice'))
    const unit = mkcg('system.slice', 'agent.service')
    sibling(unit)
    const s = await listening(serve(`echo $$ > ${unit}/cgroup.procs && exec $SERVE`))
    report('systemd unit without delegation', s)
    expect(await capabilities(s)).toMatchObject({
      cgroup: null,
      oomDetection: false,
      fix: expect.stringContaining('Delegate=yes'),
    })
    expect(s.startup[1]).toMatch(/^sandproc: to turn it on: .*Delegate=yes/)
    const refused = await runToEnd(s, HOG)
    expect(refused).toMatchObject({ status: 422, exit: { errno: 'ENOTSUP', syscall: 'cgroup' } })
    const killed = await runToEnd(s, { command: 'sh', args: ['-c', 'kill -9 $$'] })
    expect(killed.exit).toMatchObject({ signal: 9 })
    expect(killed.exit.oom_killed ?? false).toBe(false)
    await stopClean(s)
  })

  for (const nsdelegate of [false, true]) {
    it(`a container (unshare --cgroup --pid)${nsdelegate ? ' on an nsdelegate mount' : ''} whose root holds another process: PID 1 moves it into init/`, async () => {
      if (nsdelegate) execMount('remount,nsdelegate')
      try {
        await container(nsdelegate ? 'container, nsdelegate mount' : 'container as PID 1')
      } finally {
        if (nsdelegate) execMount('remount')
      }
    })
  }
})

function execMount(options: string): void {
  const r = spawnSync('mount', ['-o', options, CG], { stdio: 'inherit' })
  if (r.status !== 0) throw new Error(`mount -o ${options} ${CG}: status ${r.status}`)
}

async function container(shape: string): Promise<void> {
  enableMemory(CG)
  const root = mkcg('ctr')
  // The container's PID 1 is the server: a shell mounts the namespace's own cgroup2 in
  // place of the host's (its root is `ctr`), says it is ready, and waits until the other
  // process is in place. --kill-child: a failed test that kills unshare ends it all.
  const s = serve(
    `echo $$ > ${root}/cgroup.procs && exec unshare --cgroup --pid --fork --kill-child --mount-proc sh -c 'umount -l ${CG} && mount -t cgroup2 none ${CG} && echo ready >&2 && read go && exec $SERVE'`,
  )
  await s.waitFor(/^ready$/m)
  const pid1 = childOf(s.child.pid!)
  // unshare itself stays outside, as a runtime's shim does: only its child is the container.
  writeProcs(CG, s.child.pid!)
  // Another process of the container, not a child of its PID 1 (as `docker exec` makes).
  const other = spawn('nsenter', ['-t', String(pid1), '--pid', 'sh', '-c', 'echo in; exec sleep infinity'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  sleepers.push(other)
  await new Promise((resolve) => other.stdout!.once('data', resolve))
  const otherPid = childOf(other.pid!)
  writeProcs(root, otherPid)
  s.child.stdin!.write('go\n')
  await listening(s)
  report(shape, s)
  expect(await capabilities(s)).toMatchObject({
    oomDetection: true,
    placement: 'init',
    dir: expect.stringMatching(/^\/sys\/fs\/cgroup\/sandproc\/s1-/),
  })
  expect(fs.readFileSync(`${root}/init/cgroup.procs`, 'utf8').trim()).toBe(String(otherPid))
  await oomIsExact(s)
  await stopClean(s, pid1)
}
