/**
 * What the addon guarantees about the child between clone and exec (signal
 * dispositions, session, fds, parent-death signal), its error reporting, and the exit
 * status it reaps. Processes are started through the Supervisor where that is enough and
 * through the binding itself where the Supervisor cannot reach a path.
 */
import { spawn as spawnNode } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

import { binding, type NativeSpawnOptions } from '../src/native.js'
import type { SupervisedProcess } from '../src/core/process.js'
import { Supervisor } from '../src/supervisor.js'
import { collect, ending, lineMatching } from './helpers/events.js'
import { spawnDirect } from './helpers/spawn.js'
import { openFds, parseStat, stat, statusMask, untilDead } from './helpers/system.js'
import { useSupervisor } from './helpers/fixture.js'

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const HELPER = path.join(ROOT, 'test', 'helpers', 'child-supervisor.ts')

let sup: Supervisor
let dir: string

useSupervisor((s, d) => ((sup = s), (dir = d)))

/** A `cat` reading a stdin pipe that has echoed one line: past start-up, in its read loop. */
async function settledCat(): Promise<SupervisedProcess> {
  const cat = sup.start({ command: 'cat', stdin_mode: 'pipe' })
  await cat.write('ready\n')
  await lineMatching(cat, (l) => l === 'ready')
  return cat
}

async function finish(cat: SupervisedProcess): Promise<void> {
  cat.closeStdin()
  await cat.exited
}

/**
 * Runs child-supervisor.ts in a Node process of its own. bash opens fds 40 and 300 for
 * it without close-on-exec (Node opens its own fds with O_CLOEXEC, and here marks low
 * inherited ones too), then execs Node.
 */
function helper(mode: string): { stdout: Promise<string>; pid: number; exited: Promise<number | null> } {
  const held = path.join(dir, 'held')
  const argv = [process.execPath, '--import', 'tsx', HELPER, mode]
  const child = spawnNode('/bin/bash', ['-c', 'exec 40</dev/null 300<>"$1"; shift; exec "$@"', 'bash', held, ...argv], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout?.setEncoding('utf8')
  const stdout = new Promise<string>((resolve) => {
    child.stdout?.on('data', (d: string) => {
      out += d
      if (out.endsWith('\n')) resolve(out)
    })
    child.on('exit', () => resolve(out))
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { stdout, pid: child.pid ?? 0, exited }
}

describe('signal dispositions and mask', () => {
  it('the child starts with no ignored and no blocked signal, though Node ignores SIGPIPE', async () => {
    const own = fs.readFileSync('/proc/self/status', 'utf8')
    // The precondition that makes this test meaningful: this process ignores SIGPIPE.
    expect(statusMask(own, 'SigIgn') & (1n << 12n)).not.toBe(0n)

    const { stdout, exit } = await collect(sup.run({ command: 'cat', args: ['/proc/self/status'] }))
    expect(ending(exit)).toEqual({ exit_code: 0 })
    const status = stdout.join('\n')
    expect(statusMask(status, 'SigIgn')).toBe(0n)
    expect(statusMask(status, 'SigBlk')).toBe(0n)
    expect(statusMask(status, 'SigPnd')).toBe(0n)
  })

  it('`yes | head -1` ends promptly: yes dies of SIGPIPE instead of looping on EPIPE', async () => {
    // The subshell reports how yes ended: 141 = 128 + SIGPIPE.
    const { stdout, stderr, exit } = await collect(
      sup.run({ command: 'sh', args: ['-c', '(yes; echo $? >&2) | head -1'] }),
    )
    expect(stdout).toEqual(['y'])
    expect(stderr).toEqual(['141'])
    expect(ending(exit)).toEqual({ exit_code: 0 })
  })
})

describe('session and process group', () => {
  it('the child leads its own session and process group (/proc/self/stat)', async () => {
    const proc = sup.run({ command: 'cat', args: ['/proc/self/stat'] })
    const { stdout } = await collect(proc)
    const s = parseStat(stdout[0])
    expect(s.pid).toBe(proc.pid)
    expect(s.session).toBe(proc.pid)
    expect(s.pgrp).toBe(proc.pid)
    expect(s.ppid).toBe(process.pid)
    const own = stat(process.pid)
    expect(own?.session).not.toBe(proc.pid)
  })

  it('ps agrees: sid of $$ is $$', async () => {
    const { stdout } = await collect(sup.run({ command: 'sh', args: ['-c', 'echo $$ $(ps -o sid= -p $$)'] }))
    const [pid, sid] = stdout[0].trim().split(/\s+/).map(Number)
    expect(sid).toBe(pid)
  })
})

describe('file descriptors', () => {
  it('the child has exactly 0, 1 and 2, while this process holds many more', async () => {
    const held = Array.from({ length: 8 }, () => fs.openSync('/dev/null', 'r'))
    try {
      expect(openFds().length).toBeGreaterThan(10)
      const cat = await settledCat()
      expect(fs.readdirSync(`/proc/${cat.pid}/fd`).sort()).toEqual(['0', '1', '2'])
      await finish(cat)
      // ls's own listing adds the one directory fd it opens itself (the lowest free: 3).
      const { stdout } = await collect(sup.run({ command: 'ls', args: ['/proc/self/fd'] }))
      expect(stdout.sort()).toEqual(['0', '1', '2', '3'])
    } finally {
      for (const fd of held) fs.closeSync(fd)
    }
  })

  it('inherited fds without close-on-exec do not reach the child either', async () => {
    const h = helper('fds')
    const out = JSON.parse(await h.stdout) as { inherited: number[]; childFds: string[] }
    expect(await h.exited).toBe(0)
    // The helper holds fds 40 and 300 without FD_CLOEXEC: the case close_range is for.
    expect(out.inherited).toEqual(expect.arrayContaining([40, 300]))
    expect(out.childFds.sort()).toEqual(['0', '1', '2'])
  })

  // Past 64 the child shares our fd table and keeps only its own fds (native/fd_slots.h).
  it('with thousands of fds open: the child has exactly 0, 1 and 2, pipes and errors work, nothing stays behind', async () => {
    const held = Array.from({ length: 3000 }, () => fs.openSync('/dev/null', 'r'))
    // A supervisor of its own: its cgroup pool and watchdog hold fds until close(). The
    // addon's /dev/null, opened by its first spawn, stays: one spawn before counting.
    await sup.run({ command: 'true' }).exited
    await sup.ready()
    const before = openFds().length
    const own = new Supervisor()
    try {
      const cat = own.start({ command: 'cat', stdin_mode: 'pipe' })
      await cat.write('ready\n')
      await lineMatching(cat, (l) => l === 'ready')
      expect(fs.readdirSync(`/proc/${cat.pid}/fd`).sort()).toEqual(['0', '1', '2'])
      cat.closeStdin()
      await cat.exited
      // Twenty at once: the first inline, the others on the spawner threads, each with its own slots.
      const runs = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          collect(own.run({ command: 'sh', args: ['-c', `ls /proc/self/fd; echo err${i} >&2; exit ${i}`] })),
        ),
      )
      runs.forEach((r, i) => {
        expect(r.stdout.sort()).toEqual(['0', '1', '2', '3'])
        expect(r.stderr).toEqual([`err${i}`])
        expect(r.exit.exit_code).toBe(i)
      })
      const failed = own.run({ command: 'true', working_dir: path.join(dir, 'missing') })
      await expect(failed.exited).rejects.toMatchObject({ code: 'ENOENT', syscall: 'chdir' })
    } finally {
      await own.close()
      expect(openFds().length).toBe(before)
      for (const fd of held) fs.closeSync(fd)
    }
  })

  it('stdin is /dev/null for run and for start without a pipe', async () => {
    const run = await collect(sup.run({ command: 'readlink', args: ['/proc/self/fd/0'] }))
    expect(run.stdout).toEqual(['/dev/null'])
    const start = await collect(sup.start({ command: 'readlink', args: ['/proc/self/fd/0'] }))
    expect(start.stdout).toEqual(['/dev/null'])
  })
})

describe('parent-death signal', () => {
  it('children die with the supervisor process when it is killed', async () => {
    const h = helper('orphan')
    const sleepPid = Number((await h.stdout).trim())
    expect(sleepPid).toBeGreaterThan(0)
    expect(stat(sleepPid)?.state).toMatch(/[RS]/)
    process.kill(h.pid, 'SIGKILL')
    await h.exited
    await untilDead(sleepPid)
  })
})

describe('exit status', () => {
  it('reports a core-dumping signal as that signal', async () => {
    const { exit } = await collect(
      sup.run({ command: 'sh', args: ['-c', 'ulimit -c unlimited 2>/dev/null; kill -SEGV $$'], working_dir: dir }),
    )
    expect(ending(exit)).toEqual({ signal: 11 })
  })

  it('reports exit codes up to 255 exactly', async () => {
    for (const code of [1, 126, 127, 128, 255]) {
      const { exit } = await collect(sup.run({ command: 'sh', args: ['-c', `exit ${code}`] }))
      expect(ending(exit)).toEqual({ exit_code: code })
    }
  })

  it('gives usage figures with the exit', async () => {
    const { exit } = await collect(
      sup.run({ command: 'sh', args: ['-c', 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done'] }),
    )
    expect(exit.usage?.wall_ms).toBeGreaterThan(0)
    expect((exit.usage?.user_cpu_ms ?? 0) + (exit.usage?.system_cpu_ms ?? 0)).toBeGreaterThan(0)
  })
})

describe('binding.spawn errors', () => {
  const base: NativeSpawnOptions = {
    command: 'true',
    candidates: ['/bin/true'],
    argv: ['true'],
    envp: [],
    stdio: [0, 1, 1],
  }
  function spawnError(opts: NativeSpawnOptions): Promise<unknown> {
    return spawnDirect(opts).then(
      () => {
        throw new Error('spawn was expected to fail')
      },
      (err: unknown) => err,
    )
  }

  it('no candidate at all is ENOENT from execve, naming the command', async () => {
    expect(await spawnError({ ...base, command: 'nothing', candidates: [] })).toMatchObject({
      code: 'ENOENT',
      errno: -2,
      syscall: 'execve',
      path: 'nothing',
    })
  })

  it('a failing chdir names the directory', async () => {
    const missing = path.join(dir, 'missing')
    expect(await spawnError({ ...base, cwd: missing })).toMatchObject({
      code: 'ENOENT',
      errno: -2,
      syscall: 'chdir',
      path: missing,
    })
  })

  it('a failing setgroups is reported from that stage (too many groups: EINVAL)', async () => {
    const groups = Array.from({ length: 70000 }, (_, i) => i + 1)
    expect(await spawnError({ ...base, uid: 65534, gid: 65534, groups })).toMatchObject({
      code: 'EINVAL',
      errno: -22,
      syscall: 'setgroups',
    })
  })

  it('the first PATH candidate that execs wins; EACCES is kept only if none does', async () => {
    const locked = path.join(dir, 'locked')
    fs.writeFileSync(locked, '#!/bin/sh\n', { mode: 0o644 })
    expect(
      await spawnError({ ...base, candidates: [path.join(dir, 'nope'), locked, path.join(dir, 'nope2')] }),
    ).toMatchObject({
      code: 'EACCES',
      syscall: 'execve',
      path: locked,
    })
  })

  // The stage after the terminal one: once reported as execve (a hand-synced bound).
  it('a failing close_range(CLOSE_RANGE_UNSHARE) is reported from that stage', async () => {
    const fixtures = path.join(ROOT, 'test', 'fixtures', 'native')
    const child = spawnNode(
      'python3',
      [
        path.join(fixtures, 'deny-unshare.py'),
        process.execPath,
        '--import',
        'tsx',
        path.join(fixtures, 'unshare-fails.ts'),
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const [code] = (await once(child, 'close')) as [number]
    expect(code).toBe(0)
    expect(JSON.parse(out)).toEqual({ code: 'EPERM', errno: -1, syscall: 'close_range' })
  })

  it('failures leave no fd and no child behind', async () => {
    const before = openFds().length
    for (let i = 0; i < 200; i++) {
      await spawnError({ ...base, cwd: path.join(dir, 'missing') })
      await spawnError({ ...base, command: 'nothing', candidates: [path.join(dir, 'nope')] })
    }
    expect(openFds().length).toBe(before)
  })

  it('a direct spawn reports its exit through the callback and hands over the pipe ends', async () => {
    const { spawned, exit } = await spawnDirect({
      ...base,
      command: 'sh',
      candidates: ['/bin/sh'],
      argv: ['sh', '-c', 'exit 9'],
      stdio: [1, 1, 0],
    })
    expect(spawned.pid).toBeGreaterThan(0)
    expect(spawned.fds[0]).toBeGreaterThan(2)
    expect(spawned.fds[1]).toBeGreaterThan(2)
    expect(spawned.fds[2]).toBe(-1)
    fs.closeSync(spawned.fds[0])
    fs.closeSync(spawned.fds[1])
    expect((await exit).slice(0, 2)).toEqual([9, null])
  })
})

describe('where the clone runs', () => {
  const base: NativeSpawnOptions = {
    command: 'true',
    candidates: ['/bin/true'],
    argv: ['true'],
    envp: [],
    stdio: [0, 1, 1],
  }

  it('inline or on a thread, onSpawned comes from a later turn, never from inside spawn()', async () => {
    for (const inline of [true, false]) {
      let returned = false
      const got = new Promise<boolean>((resolve, reject) => {
        binding.spawn(
          { ...base, command: 'true', candidates: ['/bin/true'], argv: ['true'], inline },
          (err, spawned) => {
            if (err !== null || spawned === undefined) return reject(err)
            fs.closeSync(spawned.fds[1])
            fs.closeSync(spawned.fds[2])
            resolve(returned)
          },
          () => {},
        )
        returned = true
      })
      expect(await got).toBe(true)
    }
  })

  it('exitReads: the texts of the files come with the exit, read after the reap; null for one that cannot be read', async () => {
    const file = path.join(dir, 'written-at-exit')
    const missing = path.join(dir, 'missing')
    const d = await spawnDirect({
      ...base,
      command: 'sh',
      candidates: ['/bin/sh'],
      argv: ['sh', '-c', 'sleep 0.05; printf "last words\\n" > "$0"', file],
      stdio: [0, 0, 0],
      exitReads: [file, missing, dir],
    })
    const [code, , , , texts] = await d.exit
    expect(code).toBe(0)
    // A directory opens but cannot be read: null too.
    expect(texts).toEqual(['last words\n', null, null])
    const without = await spawnDirect({ ...base, stdio: [0, 0, 0] })
    expect((await without.exit)[4]).toEqual([])
  })

  it('a burst of inline-allowed spawns all start and exit (the first inline, the rest on the threads)', async () => {
    const exits = await Promise.all(
      Array.from({ length: 20 }, () =>
        spawnDirect({
          ...base,
          command: 'sh',
          candidates: ['/bin/sh'],
          argv: ['sh', '-c', 'exit 4'],
          stdio: [0, 0, 0],
          inline: true,
        }).then((d) => d.exit),
      ),
    )
    for (const e of await Promise.all(exits)) expect(e.slice(0, 2)).toEqual([4, null])
  })
})
