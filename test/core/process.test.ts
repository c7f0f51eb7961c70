import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

import type { SupervisedProcess } from '../../src/core/process.js'
import { Supervisor } from '../../src/supervisor.js'
import type { OutputEvent, ProcessEvent, RunRequest } from '../../src/types.js'
import { collect, ending, isExit, isOutput, isStart, lineMatching } from '../helpers/events.js'
import { isDead, untilDead } from '../helpers/system.js'
import { useSupervisor } from '../helpers/fixture.js'

let sup: Supervisor
let dir: string

useSupervisor((s, d) => ((sup = s), (dir = d)))

const sh = (cmd: string, extra: Partial<RunRequest> = {}): SupervisedProcess =>
  sup.run({ command: 'sh', args: ['-c', cmd], ...extra })

/** A file with exactly these bytes, printed by `cat` (no shell quoting in the way). */
function catBytes(bytes: Buffer | string): SupervisedProcess {
  const file = path.join(dir, `bytes-${Math.random().toString(36).slice(2)}`)
  fs.writeFileSync(file, bytes)
  return sup.run({ command: 'cat', args: [file] })
}

describe('lines', () => {
  it('splits on \\n and removes one trailing \\r (CRLF)', async () => {
    const { stdout } = await collect(catBytes('a\r\nb\r\n\r\nc\r\r\nd\re\n'))
    expect(stdout).toEqual(['a', 'b', '', 'c\r', 'd\re'])
  })

  it('emits an unterminated last line at EOF', async () => {
    const { stdout, exit } = await collect(catBytes('first\npartial'))
    expect(stdout).toEqual(['first', 'partial'])
    expect(ending(exit)).toEqual({ exit_code: 0 })
  })

  it('emits nothing for empty output and keeps empty lines', async () => {
    expect((await collect(catBytes(''))).outputs).toEqual([])
    expect((await collect(catBytes('\n\nx\n'))).stdout).toEqual(['', '', 'x'])
  })

  it('delivers a 200 KB line as pieces of at most 64 KiB, cut between characters, that join back', async () => {
    // Mixed widths (1, 2, 3, 4 bytes) so that some 64 KiB boundaries fall inside a character.
    const unit = 'a\u00e9\u20ac\u{1f600}'
    const line = unit.repeat(Math.ceil(200_000 / Buffer.byteLength(unit)))
    const { stdout } = await collect(catBytes(`${line}\nafter\n`))
    expect(stdout.at(-1)).toBe('after')
    const pieces = stdout.slice(0, -1)
    expect(pieces.length).toBeGreaterThanOrEqual(4)
    for (const p of pieces) {
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(65536)
      expect(p).not.toContain('\ufffd')
    }
    expect(pieces.join('')).toBe(line)
  })

  it('respects a smaller lineLimit', async () => {
    const s = new Supervisor({ lineLimit: 1000 })
    try {
      const { stdout } = await collect(s.run({ command: 'sh', args: ['-c', 'head -c 2500 /dev/zero | tr "\\0" x'] }))
      expect(stdout.map((l) => l.length)).toEqual([1000, 1000, 500])
    } finally {
      await s.close()
    }
  })

  it('turns invalid UTF-8 into U+FFFD and keeps reading', async () => {
    const bytes = Buffer.concat([
      Buffer.from('ok\n'),
      Buffer.from([0xff, 0x61, 0x0a]), // invalid byte, then "a"
      Buffer.from([0xc3, 0x28, 0x0a]), // bad continuation
      Buffer.from([0xed, 0xa0, 0x80, 0x0a]), // UTF-16 surrogate
      Buffer.from('still reading\n'),
      Buffer.from([0xe2, 0x82]), // truncated at EOF
    ])
    const { stdout, exit } = await collect(catBytes(bytes))
    expect(ending(exit)).toEqual({ exit_code: 0 })
    expect(stdout[0]).toBe('ok')
    expect(stdout[1]).toBe('\ufffda')
    expect(stdout[2]).toBe('\ufffd(')
    expect(stdout[3]).toMatch(/^\ufffd+$/)
    expect(stdout[4]).toBe('still reading')
    expect(stdout[5]).toMatch(/^\ufffd+$/)
    expect(stdout).toHaveLength(6)
  })

  it('keeps stderr separate from stdout, each in its own order', async () => {
    const { stdout, stderr, outputs } = await collect(sh('echo o1; echo e1 >&2; echo o2; echo e2 >&2; echo o3'))
    expect(stdout).toEqual(['o1', 'o2', 'o3'])
    expect(stderr).toEqual(['e1', 'e2'])
    for (const o of outputs) expect(o.stream).toBe(o.line.startsWith('o') ? 'stdout' : 'stderr')
  })

  it('sends a discarded stream to /dev/null (start with stdout_mode/stderr_mode)', async () => {
    const cmd = 'echo out; echo err >&2'
    const a = await collect(sup.start({ command: 'sh', args: ['-c', cmd], stdout_mode: 'discard' }))
    expect(a.stdout).toEqual([])
    expect(a.stderr).toEqual(['err'])
    const b = await collect(sup.start({ command: 'sh', args: ['-c', cmd], stderr_mode: 'discard' }))
    expect(b.stdout).toEqual(['out'])
    expect(b.stderr).toEqual([])
    // The fds as the kernel sees them (spawn returns after execve, so these are sleep's).
    const c = sup.start({ command: 'sleep', args: ['100'], stdout_mode: 'discard', stderr_mode: 'capture' })
    const d = sup.start({ command: 'sleep', args: ['100'], stdout_mode: 'capture', stderr_mode: 'discard' })
    await Promise.all([c.started, d.started])
    const fd = (p: SupervisedProcess, n: number): string => fs.readlinkSync(`/proc/${p.pid}/fd/${n}`)
    expect([fd(c, 1), fd(c, 2)]).toEqual(['/dev/null', expect.stringMatching(/^pipe:/)])
    expect([fd(d, 1), fd(d, 2)]).toEqual([expect.stringMatching(/^pipe:/), '/dev/null'])
    c.kill()
    d.kill()
    await Promise.all([c.exited, d.exited])
  })
})

describe('no pipes at all', () => {
  it('with both streams discarded the events are start then exit', async () => {
    const proc = sup.start({
      command: 'sh',
      args: ['-c', 'echo x; echo y >&2; exit 4'],
      stdout_mode: 'discard',
      stderr_mode: 'discard',
    })
    const { events, exit } = await collect(proc)
    expect(events).toHaveLength(2)
    expect(ending(exit)).toEqual({ exit_code: 4 })
  })
})

describe('event order', () => {
  it('start first, exit last and after every output, timestamps never going backwards', async () => {
    const proc = sh('for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; printf tail')
    const { events, start, exit } = await collect(proc)
    expect(events[0]).toBe(start)
    expect(events.at(-1)).toBe(exit)
    expect(events.filter(isStart)).toHaveLength(1)
    expect(events.filter(isExit)).toHaveLength(1)
    const outputs = events.filter(isOutput)
    expect(outputs).toHaveLength(11)
    expect(outputs.map((o) => o.line).filter((l) => l.startsWith('out'))).toEqual([
      'out1',
      'out2',
      'out3',
      'out4',
      'out5',
    ])
    let last = start.started_at
    for (const o of outputs) {
      expect(o.timestamp).toBeGreaterThanOrEqual(last)
      last = o.timestamp
    }
  })

  it('start carries handle, pid and started_at; output carries line, timestamp and stream', async () => {
    const proc = sh('echo hi')
    const { start, outputs } = await collect(proc)
    expect(Object.keys(start).sort()).toEqual(['handle', 'pid', 'started_at'])
    expect(start.pid).toBe(proc.pid)
    expect(start.handle).toBe(proc.handle)
    expect(Number.isInteger(start.started_at)).toBe(true)
    expect(outputs).toHaveLength(1)
    expect(Object.keys(outputs[0]).sort()).toEqual(['line', 'stream', 'timestamp'])
    expect(Number.isInteger(outputs[0].timestamp)).toBe(true)
    await expect(proc.started).resolves.toBe(start)
  })

  it('emits start asynchronously, after run() returns', async () => {
    const proc = sh('exit 0')
    let sawStart = false
    proc.on('start', () => (sawStart = true))
    expect(sawStart).toBe(false)
    await proc.exited
    expect(sawStart).toBe(true)
  })

  it('the async iterator yields the same objects as the events, in order, ending with the exit event', async () => {
    const proc = sh('echo a; echo b >&2; echo c; exit 7')
    const emitted: ProcessEvent[] = []
    for (const name of ['start', 'output', 'exit']) proc.on(name, (e: ProcessEvent) => emitted.push(e))
    const iterated: ProcessEvent[] = []
    for await (const ev of proc) iterated.push(ev)
    expect(iterated).toHaveLength(emitted.length)
    iterated.forEach((ev, i) => expect(ev).toBe(emitted[i]))
    expect(isStart(iterated[0])).toBe(true)
    const last = iterated.at(-1)
    expect(last !== undefined && isExit(last) ? ending(last) : last).toEqual({ exit_code: 7 })
    expect(
      iterated
        .filter(isOutput)
        .map((o) => o.line)
        .sort(),
    ).toEqual(['a', 'b', 'c'])
  })

  it('two iterators each get every event', async () => {
    const proc = sh('echo one; echo two')
    const drain = async (): Promise<ProcessEvent[]> => {
      const out: ProcessEvent[] = []
      for await (const ev of proc) out.push(ev)
      return out
    }
    const [a, b] = await Promise.all([drain(), drain()])
    expect(a).toHaveLength(4)
    a.forEach((ev, i) => expect(b[i]).toBe(ev))
  })

  it('a slow iterator still gets every line of a large output (backpressure, nothing dropped)', async () => {
    const proc = sh('seq 1 20000')
    let n = 0
    let last: ProcessEvent | undefined
    for await (const ev of proc) {
      if (isOutput(ev)) expect(ev.line).toBe(String(++n))
      if (n % 1000 === 0) await new Promise((r) => setImmediate(r))
      last = ev
    }
    expect(n).toBe(20000)
    expect(last !== undefined && isExit(last) ? ending(last) : last).toEqual({ exit_code: 0 })
  })
})

describe('process tree', () => {
  it("sh -c 'sleep 100 & echo hi' ends as soon as sh does, with the sleep killed", async () => {
    // A drain grace far beyond the test timeout: the exit can only come from EOF on the
    // pipes, i.e. from the sleep having been killed, never from giving up on them.
    const s = new Supervisor({ drainGrace: 2_000_000_000 })
    try {
      const { stdout, exit } = await collect(s.run({ command: 'sh', args: ['-c', 'sleep 100 & echo $!; echo hi'] }))
      expect(ending(exit)).toEqual({ exit_code: 0 })
      expect(stdout[1]).toBe('hi')
      const sleepPid = Number(stdout[0])
      expect(sleepPid).toBeGreaterThan(0)
      await untilDead(sleepPid)
      expect(isDead(sleepPid)).toBe(true)
    } finally {
      await s.close()
    }
  })

  it('a descendant in its own session holding the pipe does not keep the run waiting forever', async () => {
    const s = new Supervisor({ drainGrace: 100 })
    let escaped = 0
    try {
      // setsid moves the sleep out of the process group (no cgroup here): only the drain
      // grace ends this run. In a background job sh's child is no group leader, so
      // setsid execs sleep without forking and $! is the sleep.
      const { stdout, exit } = await collect(s.run({ command: 'sh', args: ['-c', 'setsid sleep 100 & echo $!'] }))
      escaped = Number(stdout[0])
      expect(stdout).toHaveLength(1)
      expect(ending(exit)).toEqual({ exit_code: 0 })
    } finally {
      if (escaped > 0 && !isDead(escaped)) process.kill(escaped, 'SIGKILL')
      await s.close()
    }
  })
})

describe('timeout', () => {
  it('kills the tree with SIGKILL and reports {signal: 9, timed_out: true}', async () => {
    const { stdout, exit } = await collect(sh('sleep 100 & echo $!; sleep 100', { timeout: 0.2 }))
    expect(ending(exit)).toEqual({ signal: 9, timed_out: true })
    expect(exit.oom_killed).toBeUndefined()
    await untilDead(Number(stdout[0]))
  })

  it('does not fire for a process that finishes first', async () => {
    const { exit } = await collect(sh('exit 2', { timeout: 1000 }))
    expect(ending(exit)).toEqual({ exit_code: 2 })
  })
})

describe('stdin', () => {
  it('writes to a pipe and closes it (cat echoes, then exits at EOF)', async () => {
    const proc = sup.start({ command: 'cat', stdin_mode: 'pipe' })
    const done = collect(proc)
    await proc.started
    expect(proc.info().stdin_writable).toBe(true)
    await proc.write('hello\n')
    await lineMatching(proc, (l) => l === 'hello')
    await proc.write(Buffer.from('bytes\npartial'))
    proc.closeStdin()
    proc.closeStdin() // idempotent
    const { stdout, exit } = await done
    expect(stdout).toEqual(['hello', 'bytes', 'partial'])
    expect(ending(exit)).toEqual({ exit_code: 0 })
    expect(proc.info().stdin_writable).toBe(false)
  })

  it('rejects a write after closeStdin with STDIN_NOT_WRITABLE', async () => {
    const proc = sup.start({ command: 'cat', stdin_mode: 'pipe' })
    const done = collect(proc)
    proc.closeStdin()
    expect(proc.info().stdin_writable).toBe(false)
    await expect(proc.write('late\n')).rejects.toMatchObject({ code: 'STDIN_NOT_WRITABLE' })
    expect((await done).stdout).toEqual([])
  })

  it('rejects writes when stdin is closed, for run and after the exit', async () => {
    const started = sup.start({ command: 'sleep', args: ['100'] })
    expect(started.info().stdin_writable).toBe(false)
    await expect(started.write('x')).rejects.toMatchObject({ code: 'STDIN_NOT_WRITABLE' })
    started.kill()
    await started.exited

    const run = sh('sleep 100')
    await expect(run.write('x')).rejects.toMatchObject({ code: 'STDIN_NOT_WRITABLE' })
    run.kill()
    await run.exited

    const piped = sup.start({ command: 'true', stdin_mode: 'pipe' })
    await piped.exited
    await expect(piped.write('x')).rejects.toMatchObject({ code: 'STDIN_NOT_WRITABLE' })
  })

  it('gives run() a closed stdin (reads see EOF at once)', async () => {
    const { stdout, exit } = await collect(sh('cat; echo eof'))
    expect(stdout).toEqual(['eof'])
    expect(ending(exit)).toEqual({ exit_code: 0 })
  })
})

describe('signals', () => {
  it('kill() sends SIGKILL to the main process by default', async () => {
    const proc = sup.start({ command: 'sleep', args: ['100'] })
    await proc.started
    expect(proc.kill()).toBe(true)
    expect(ending(await proc.exited)).toEqual({ signal: 9 })
    expect(proc.info()).toMatchObject({ status: 'signaled', signal: 9, exit_code: null, oom_killed: false })
  })

  it('kill(signal) sends that signal, by name or number', async () => {
    const a = sup.start({ command: 'sleep', args: ['100'] })
    expect(a.kill('SIGTERM')).toBe(true)
    expect(ending(await a.exited)).toEqual({ signal: 15 })
    const b = sup.start({ command: 'sleep', args: ['100'] })
    expect(b.kill(2)).toBe(true)
    expect(ending(await b.exited)).toEqual({ signal: 2 })
  })

  it('kill() lets a handler run: the process chooses its exit', async () => {
    // `wait` returns as soon as a trapped signal arrives, so the trap runs at once.
    const proc = sup.start({
      command: 'sh',
      args: ['-c', 'trap "exit 42" USR1; echo ready; while :; do sleep 100 & wait $!; done'],
    })
    const done = collect(proc)
    await lineMatching(proc, (l) => l === 'ready')
    expect(proc.kill('SIGUSR1')).toBe(true)
    expect(ending((await done).exit)).toEqual({ exit_code: 42 })
  })

  it('kill() after the exit returns false; a bad signal is an INVALID_REQUEST TypeError', async () => {
    const proc = sh('exit 0')
    await proc.exited
    expect(proc.kill()).toBe(false)
    expect(proc.kill('SIGTERM')).toBe(false)
    const live = sup.start({ command: 'sleep', args: ['100'] })
    for (const bad of ['SIGNOPE', 0, -1, 65, 1.5, Number.NaN]) {
      let err: unknown
      try {
        live.kill(bad as NodeJS.Signals)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(TypeError)
      expect(err).toMatchObject({ code: 'INVALID_REQUEST' })
    }
    expect(live.running).toBe(true)
    live.kill()
    await live.exited
  })

  it('kill() hits the main process only; its descendants then die with it', async () => {
    const proc = sup.start({ command: 'sh', args: ['-c', 'sleep 100 & echo $!; wait'] })
    const done = collect(proc)
    const child = Number((await lineMatching(proc, (l) => /^\d+$/.test(l))).line)
    proc.kill()
    expect(ending((await done).exit)).toEqual({ signal: 9 })
    await untilDead(child)
  })

  it('killTree() kills the whole process group', async () => {
    const proc = sup.start({
      command: 'sh',
      args: ['-c', "trap '' TERM; sleep 100 & echo $!; sleep 100 & echo $!; wait"],
    })
    const done = collect(proc)
    const pids: number[] = []
    await lineMatching(proc, (l) => pids.push(Number(l)) === 2)
    proc.killTree()
    expect(ending((await done).exit)).toEqual({ signal: 9 })
    for (const pid of pids) await untilDead(pid)
    proc.killTree() // after the exit: nothing to do, no throw
  })
})

describe('ProcessInfo', () => {
  it('is running while the process runs, with stdin_writable only for a pipe', async () => {
    const proc = sup.start({ command: 'cat', args: [], stdin_mode: 'pipe' })
    const start = await proc.started
    expect(proc.info()).toEqual({
      handle: start.handle,
      pid: start.pid,
      status: 'running',
      exit_code: null,
      signal: null,
      oom_killed: false,
      stdin_writable: true,
      command: 'cat',
      args: [],
      started_at: start.started_at,
      ended_at: null,
      reason: null,
      user: { uid: process.getuid!(), gid: process.getgid!() },
      timed_out: false,
      usage: null,
    })
    proc.closeStdin()
    await proc.exited
    expect(proc.info()).toMatchObject({ status: 'exited', exit_code: 0, stdin_writable: false })
  })

  it('carries the user, timed_out and, once exited, the usage figures', async () => {
    const proc = sup.start({ command: 'sh', args: ['-c', 'exit 0'], user: '65534:65534' })
    await proc.started
    expect(proc.info().user).toEqual({ uid: 65534, gid: 65534 })
    await proc.exited
    expect(proc.info()).toMatchObject({
      timed_out: false,
      usage: { wall_ms: expect.any(Number), user_cpu_ms: expect.any(Number) },
    })
    const slow = sup.run({ command: 'sleep', args: ['30'], timeout: 0.05 })
    await slow.exited
    expect(slow.info()).toMatchObject({ status: 'signaled', signal: 9, timed_out: true })
  })

  it('retains the output of a start()ed process in its log', async () => {
    const proc = sup.start({ command: 'sh', args: ['-c', 'echo a; echo b >&2'] })
    await proc.exited
    const out: OutputEvent[] = proc.log?.snapshot('output').lines ?? []
    expect(out.map((l) => [l.stream, l.line]).sort()).toEqual([
      ['stderr', 'b'],
      ['stdout', 'a'],
    ])
    expect(proc.log?.ended).toBe(true)
    expect(sh('true').log).toBeNull()
  })
})

describe('late iteration', () => {
  it('an iterator created after the exit still ends with the exit event', async () => {
    const proc = sh('echo hi; exit 3')
    const exit = await proc.exited
    const seen: ProcessEvent[] = []
    for await (const ev of proc) seen.push(ev)
    expect(seen).toEqual([exit])
    expect(seen[0]).toBe(exit)
  })
})

describe('ref and unref', () => {
  it('an unref()ed process (with a timeout) does not keep Node running; it dies with Node', async () => {
    const src = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'src', 'index.ts')
    const script = `
      const { Supervisor } = await import(${JSON.stringify(src)})
      const sup = new Supervisor({ cgroup: false })
      const p = sup.run({ command: 'sleep', args: ['100'], timeout: 90 })
      p.unref()
      const { pid } = await p.started
      console.log(pid)`
    const { execFileSync } = await import('node:child_process')
    // Returns only once the node process has exited by itself (the test would time out otherwise).
    const pid = Number(
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
      }).trim(),
    )
    expect(pid).toBeGreaterThan(0)
    // The sleep got its parent-death signal.
    await untilDead(pid)
    expect(isDead(pid)).toBe(true)
  })
})
