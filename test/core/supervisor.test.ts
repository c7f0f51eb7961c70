import fs from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'

import type { CodedError } from '../../src/errors.js'
import type { SupervisedProcess } from '../../src/core/process.js'
import { Supervisor } from '../../src/supervisor.js'
import type { ProcessEvent, RunRequest } from '../../src/types.js'
import { collect, ending, isExit, lineMatching, spawnError } from '../helpers/events.js'
import { script, untilDead } from '../helpers/system.js'
import { useSupervisor } from '../helpers/fixture.js'

let sup: Supervisor
let dir: string

useSupervisor((s, d) => ((sup = s), (dir = d)))

const sh = (cmd: string, extra: Partial<RunRequest> = {}): SupervisedProcess =>
  sup.run({ command: 'sh', args: ['-c', cmd], ...extra })

describe('exit', () => {
  it('reports exit code 0', async () => {
    const { exit } = await collect(sh('exit 0'))
    expect(ending(exit)).toEqual({ exit_code: 0 })
  })

  it('reports exit code 3', async () => {
    const { exit } = await collect(sh('exit 3'))
    expect(ending(exit)).toEqual({ exit_code: 3 })
  })

  it('reports a signal instead of a code: kill -TERM $$ is {signal: 15}', async () => {
    const { exit } = await collect(sh('kill -TERM $$'))
    expect(ending(exit)).toEqual({ signal: 15 })
  })

  it('reports SIGKILL the process sent itself as {signal: 9}, not as an OOM kill or a timeout', async () => {
    const { exit } = await collect(sh('kill -9 $$'))
    expect(ending(exit)).toEqual({ signal: 9 })
  })

  it('resolves `exited` with the exit event object', async () => {
    const proc = sh('exit 5')
    const seen: ProcessEvent[] = []
    proc.on('exit', (e: ProcessEvent) => seen.push(e))
    const exit = await proc.exited
    expect(seen).toHaveLength(1)
    expect(exit).toBe(seen[0])
  })
})

describe('programs that cannot start', () => {
  /** Runs `req` and checks everything a failed start must (not) do; returns the error. */
  async function failure(req: RunRequest, s: Supervisor = sup): Promise<CodedError> {
    const proc = s.run(req)
    const emitted: string[] = []
    proc.on('start', () => emitted.push('start'))
    proc.on('output', () => emitted.push('output'))
    proc.on('exit', () => emitted.push('exit'))
    const errors: unknown[] = []
    proc.on('error', (e: unknown) => errors.push(e))
    const err = await spawnError(proc)
    await expect(proc.started).rejects.toBe(err)
    const iterated: ProcessEvent[] = []
    await expect(
      (async () => {
        for await (const ev of proc) iterated.push(ev)
      })(),
    ).rejects.toBe(err)
    expect(iterated).toEqual([])
    expect(emitted).toEqual([])
    expect(errors).toEqual([err])
    expect(proc.pid).toBe(0)
    expect(err).toBeInstanceOf(Error)
    return err
  }

  it('a missing command is ENOENT from execve, naming the command', async () => {
    const err = await failure({ command: 'sandproc-no-such-program' })
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'execve', path: 'sandproc-no-such-program' })
  })

  it('a missing absolute path is ENOENT', async () => {
    const missing = path.join(dir, 'missing')
    const err = await failure({ command: missing })
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'execve', path: missing })
  })

  it('a file without execute permission is EACCES', async () => {
    const file = script(path.join(dir, 'not-executable'), 'exit 0', 0o644)
    const err = await failure({ command: file })
    expect(err).toMatchObject({ code: 'EACCES', errno: -13, syscall: 'execve', path: file })
  })

  it('a directory as the command is EACCES', async () => {
    const err = await failure({ command: dir })
    expect(err).toMatchObject({ code: 'EACCES', syscall: 'execve', path: dir })
  })

  it('a path through a regular file is ENOTDIR, as execve says', async () => {
    const file = script(path.join(dir, 'plain'), 'exit 0')
    const err = await failure({ command: `${file}/x` })
    expect(err).toMatchObject({ code: 'ENOTDIR', errno: -20, syscall: 'execve', path: `${file}/x` })
  })

  it('a missing working_dir is ENOENT from chdir, naming the directory', async () => {
    const missing = path.join(dir, 'no-such-dir')
    const err = await failure({ command: 'true', working_dir: missing })
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'chdir', path: missing })
  })

  it('a working_dir that is a file is ENOTDIR from chdir', async () => {
    const file = script(path.join(dir, 'a-file'), 'exit 0')
    const err = await failure({ command: 'true', working_dir: file })
    expect(err).toMatchObject({ code: 'ENOTDIR', errno: -20, syscall: 'chdir', path: file })
  })

  it('a failed start is not counted as running and leaves the supervisor usable', async () => {
    const before = sup.running
    await failure({ command: 'sandproc-no-such-program' })
    expect(sup.running).toBe(before)
    const { exit } = await collect(sh('exit 0'))
    expect(ending(exit)).toEqual({ exit_code: 0 })
  })

  it('an unobserved failing run crashes nothing (no unhandled rejection, no uncaught error)', async () => {
    const unhandled: unknown[] = []
    const onRejection = (reason: unknown): void => {
      unhandled.push(reason)
    }
    const onException = (err: unknown): void => {
      unhandled.push(err)
    }
    process.on('unhandledRejection', onRejection)
    process.on('uncaughtException', onException)
    try {
      // Nobody listens for `error`, awaits `exited`/`started` or iterates.
      sup.run({ command: 'sandproc-no-such-program' })
      sup.run({ command: 'true', working_dir: path.join(dir, 'no-such-dir') })
      // A whole later process lifetime (several loop turns) passes with them unobserved.
      const { exit } = await collect(sh('echo still alive'))
      expect(ending(exit)).toEqual({ exit_code: 0 })
      await new Promise((r) => setImmediate(r))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onRejection)
      process.off('uncaughtException', onException)
    }
  })

  it('each way of observing a failure alone gets the same error', async () => {
    const a = sup.run({ command: 'sandproc-no-such-program' })
    const viaEvent = await new Promise<unknown>((resolve) => a.on('error', resolve))
    expect(viaEvent).toMatchObject({ code: 'ENOENT', syscall: 'execve' })

    const b = sup.run({ command: 'sandproc-no-such-program' })
    let thrown: unknown
    try {
      for await (const ev of b) expect.fail(`unexpected event ${JSON.stringify(ev)}`)
    } catch (err) {
      thrown = err
    }
    expect(thrown).toMatchObject({ code: 'ENOENT', syscall: 'execve' })
  })
})

describe('environment', () => {
  it('applies the request env over the base env option, and passes nothing else', async () => {
    const s = new Supervisor({ env: { A: 'base-a', B: 'base-b', PATH: process.env.PATH ?? '/usr/bin:/bin' } })
    try {
      const { stdout, exit } = await collect(s.run({ command: 'env', env: { B: 'req-b', C: 'req-c' } }))
      expect(ending(exit)).toEqual({ exit_code: 0 })
      expect(stdout.sort()).toEqual(
        ['A=base-a', 'B=req-b', 'C=req-c', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`].sort(),
      )
    } finally {
      await s.close()
    }
  })

  it('a NUL in a base env value ends the value there and cannot add a variable', async () => {
    // The addon takes the environment as one NUL-separated string (prepare.ts); an entry
    // holding a NUL itself must not split into two there.
    const s = new Supervisor({ cgroup: false, env: { A: 'x\0B=injected', PATH: process.env.PATH ?? '/usr/bin:/bin' } })
    try {
      const { stdout } = await collect(s.run({ command: 'env', env: { C: 'c' } }))
      expect(stdout.sort()).toEqual(['A=x', 'C=c', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`].sort())
      const base = await collect(s.run({ command: 'env' }))
      expect(base.stdout.sort()).toEqual(['A=x', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`].sort())
    } finally {
      await s.close()
    }
  })

  it("defaults the base env to the supervisor process's environment", async () => {
    process.env.SANDPROC_TEST_BASE = 'from-process-env'
    const s = new Supervisor()
    delete process.env.SANDPROC_TEST_BASE
    try {
      const { stdout } = await collect(s.run({ command: 'sh', args: ['-c', 'echo "$SANDPROC_TEST_BASE|$HOME"'] }))
      expect(stdout).toEqual([`from-process-env|${process.env.HOME ?? ''}`])
    } finally {
      await s.close()
    }
  })

  it('keeps empty values and values with = and newlines intact', async () => {
    const { stdout } = await collect(
      sh('printf "%s|%s|%s" "$E1" "$E2" "$E3"', { env: { E1: '', E2: 'a=b=c', E3: 'x\ny' } }),
    )
    expect(stdout).toEqual(['|a=b=c|x', 'y'])
  })
})

describe('PATH lookup', () => {
  let bin1: string
  let bin2: string

  beforeAll(() => {
    bin1 = path.join(dir, 'bin1')
    bin2 = path.join(dir, 'bin2')
    fs.mkdirSync(bin1)
    fs.mkdirSync(bin2)
    script(path.join(bin2, 'sandproc-tool'), 'echo "tool from bin2 $0"')
    // bin1 has a non-executable file of the same name: skipped, as execvp does.
    script(path.join(bin1, 'sandproc-tool'), 'echo wrong', 0o644)
    script(path.join(bin1, 'sandproc-locked'), 'echo locked', 0o644)
  })

  it("finds a command through the request's PATH", async () => {
    const { stdout, exit } = await collect(sup.run({ command: 'sandproc-tool', env: { PATH: `${bin1}:${bin2}` } }))
    expect(ending(exit)).toEqual({ exit_code: 0 })
    expect(stdout).toEqual([`tool from bin2 ${path.join(bin2, 'sandproc-tool')}`])
  })

  it("searches the base env's PATH when the request has none", async () => {
    const s = new Supervisor({ env: { PATH: bin2 } })
    try {
      const { stdout } = await collect(s.run({ command: 'sandproc-tool' }))
      expect(stdout).toEqual([`tool from bin2 ${path.join(bin2, 'sandproc-tool')}`])
    } finally {
      await s.close()
    }
  })

  it('reports ENOENT for a command found in no PATH entry', async () => {
    const err = await spawnError(sup.run({ command: 'sandproc-tool', env: { PATH: `${dir}:/nonexistent` } }))
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'execve', path: 'sandproc-tool' })
  })

  it('reports EACCES for a command found only without execute permission', async () => {
    const err = await spawnError(sup.run({ command: 'sandproc-locked', env: { PATH: `${bin1}:${bin2}` } }))
    expect(err).toMatchObject({ code: 'EACCES', syscall: 'execve', path: path.join(bin1, 'sandproc-locked') })
  })

  it('runs a command with a slash as a path, without PATH search', async () => {
    const abs = path.join(bin2, 'sandproc-tool')
    const { stdout } = await collect(sup.run({ command: abs, env: { PATH: bin1 } }))
    expect(stdout).toEqual([`tool from bin2 ${abs}`])
  })

  it('resolves a relative command with a slash against working_dir', async () => {
    const { stdout } = await collect(sup.run({ command: './sandproc-tool', working_dir: bin2, env: { PATH: bin1 } }))
    expect(stdout).toEqual(['tool from bin2 ./sandproc-tool'])
  })

  it('does not search PATH for a relative command with a slash', async () => {
    const err = await spawnError(sup.run({ command: 'bin2/sandproc-tool', working_dir: '/', env: { PATH: dir } }))
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'execve' })
  })
})

describe('working directory', () => {
  it("defaults to the supervisor process's cwd", async () => {
    const { stdout } = await collect(sup.run({ command: 'pwd', args: ['-P'] }))
    expect(stdout).toEqual([fs.realpathSync(process.cwd())])
  })

  it('defaults to the cwd option when given', async () => {
    const s = new Supervisor({ cwd: dir })
    try {
      const { stdout } = await collect(s.run({ command: 'pwd', args: ['-P'] }))
      expect(stdout).toEqual([fs.realpathSync(dir)])
    } finally {
      await s.close()
    }
  })

  it('runs in working_dir', async () => {
    const sub = path.join(dir, 'cwd-test')
    fs.mkdirSync(sub)
    const { stdout } = await collect(sup.run({ command: 'pwd', args: ['-P'], working_dir: sub }))
    expect(stdout).toEqual([fs.realpathSync(sub)])
  })
})

describe('validation at the entry points', () => {
  it('run() throws INVALID_REQUEST synchronously and starts nothing', () => {
    const total = sup.total
    let err: unknown
    try {
      sup.run({ command: '' })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(TypeError)
    expect(err).toMatchObject({ code: 'INVALID_REQUEST' })
    expect(sup.total).toBe(total)
  })

  it('start() throws INVALID_REQUEST for a bad stdio mode', () => {
    const bad = { command: 'true', stdin_mode: 'open' } as unknown as Parameters<Supervisor['start']>[0]
    expect(() => sup.start(bad)).toThrow(TypeError)
    try {
      sup.start(bad)
    } catch (e) {
      expect(e).toMatchObject({ code: 'INVALID_REQUEST' })
      expect((e as Error).message).toContain('stdin_mode')
    }
  })
})

describe('table', () => {
  it('get(pid) and list() give the ProcessInfo of a finished process', async () => {
    const proc = sup.run({ command: 'sh', args: ['-c', 'exit 4'] })
    const { start } = await collect(proc)
    const info = sup.get(start.pid)
    expect(info).toMatchObject({
      handle: start.handle,
      pid: start.pid,
      status: 'exited',
      exit_code: 4,
      signal: null,
      oom_killed: false,
      stdin_writable: false,
      command: 'sh',
      args: ['-c', 'exit 4'],
      started_at: start.started_at,
    })
    expect(info?.ended_at).toBeGreaterThanOrEqual(start.started_at)
    expect(sup.list().find((p) => p.handle === start.handle)).toEqual(info)
    expect(sup.process(start.pid)).toBe(proc)
  })

  // What a process cap counts (docs/deploying.md): a launch whose preparation failed is
  // neither running nor pending, or every such failure would fill the cap for good.
  it('active counts a launch until it started or failed, a failed preparation included', async () => {
    expect(sup.active).toBe(0)
    const unknownUser = sup.run({ command: 'true', user: 'sandproc-no-such-user' })
    const missing = sup.run({ command: 'sandproc-no-such-program' })
    expect(sup.active).toBe(2)
    expect((await spawnError(unknownUser)).code).toBe('USER_NOT_FOUND')
    expect((await spawnError(missing)).code).toBe('ENOENT')
    expect(sup.active).toBe(0)
    expect(sup.running).toBe(0)
  })

  it('counts handles up by one per process', async () => {
    const a = await collect(sh('exit 0'))
    const b = await collect(sh('exit 0'))
    expect(b.start.handle).toBe(a.start.handle + 1)
  })
})

describe('close()', () => {
  it('ends running processes: SIGTERM first, SIGKILL after killGrace for one that ignores SIGTERM', async () => {
    const s = new Supervisor({ killGrace: 200 })
    const polite = s.start({ command: 'sleep', args: ['100'] })
    // `trap '' TERM` makes the shell and (ignored dispositions survive exec) the sleep ignore it.
    const stubborn = s.start({ command: 'sh', args: ['-c', "trap '' TERM; echo ready; exec sleep 100"] })
    const politeExit = collect(polite)
    const stubbornExit = collect(stubborn)
    await lineMatching(stubborn, (l) => l === 'ready')
    // Two spawner threads: the first start may still be queued when the second prints.
    await polite.started
    expect(s.running).toBe(2)

    await s.close()
    expect(s.running).toBe(0)
    expect(ending((await politeExit).exit)).toEqual({ signal: 15 })
    expect(ending((await stubbornExit).exit)).toEqual({ signal: 9 })
    expect(polite.info().status).toBe('signaled')
  })

  it('is idempotent, and the supervisor refuses new processes afterwards', async () => {
    const s = new Supervisor()
    const p = s.start({ command: 'sleep', args: ['100'] })
    const first = s.close()
    expect(s.close()).toBe(first)
    await first
    expect((await p.exited).signal).toBe(15)
    expect(() => s.run({ command: 'true' })).toThrow(expect.objectContaining({ code: 'ERR_SUPERVISOR_CLOSED' }))
  })

  it('kills what a process left in its group', async () => {
    const s = new Supervisor({ killGrace: 200 })
    const p = s.start({ command: 'sh', args: ['-c', "trap '' TERM; sleep 100 & echo $!; wait"] })
    const events: ProcessEvent[] = []
    p.on('exit', (e: ProcessEvent) => events.push(e))
    const child = Number((await lineMatching(p, (l) => /^\d+$/.test(l))).line)
    await s.close()
    expect(events.filter(isExit)).toHaveLength(1)
    // Its pipe reached EOF, so it is dying; it must not stay alive.
    await untilDead(child)
  })
})

describe('options', () => {
  it('a lineLimit too small for one UTF-8 character is refused before anything is spawned', () => {
    for (const lineLimit of [0, 1, 3, -1, 1.5]) {
      let err: unknown
      try {
        new Supervisor({ lineLimit })
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(TypeError)
      expect(err).toMatchObject({ code: 'INVALID_REQUEST' })
    }
  })

  it('a grace that setTimeout cannot hold is refused rather than turned into 1 ms', () => {
    for (const opts of [{ killGrace: 2 ** 31 }, { drainGrace: 2 ** 31 }]) {
      let err: unknown
      try {
        new Supervisor(opts)
      } catch (e) {
        err = e
      }
      expect(err).toMatchObject({ code: 'INVALID_REQUEST' })
    }
  })

  it('a relative working_dir is relative to the base working dir', async () => {
    const base = path.join(dir, 'base')
    fs.mkdirSync(path.join(base, 'sub'), { recursive: true })
    const s = new Supervisor({ cwd: base })
    try {
      const { stdout } = await collect(s.run({ command: 'pwd', args: ['-P'], working_dir: 'sub' }))
      expect(stdout).toEqual([fs.realpathSync(path.join(base, 'sub'))])
    } finally {
      await s.close()
    }
  })
})
