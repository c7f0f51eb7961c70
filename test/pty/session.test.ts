/**
 * PTY sessions through the library (docs/protocol.md "The terminal", "At the end"): a
 * real terminal, job control, the exit after the last byte, the tree, credentials,
 * OOM.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/supervisor.js'
import { collectPty, untilOutput } from '../helpers/pty.js'
import { useSupervisor } from '../helpers/fixture.js'
import { account, isDead, parseStat, stat, untilDead } from '../helpers/system.js'
import { untilForeground } from '../helpers/pty.js'

let sup: Supervisor
let dir: string
useSupervisor((s, d) => ((sup = s), (dir = d)), { drainGrace: 300 })

const sh = (script: string, extra: Record<string, unknown> = {}) =>
  sup.pty({ command: 'sh', args: ['-c', script], ...extra })

describe('the terminal', () => {
  it('is /dev/pts/N on fds 0, 1 and 2, owned by the session user, with nothing else inherited', async () => {
    // No pipeline into ls: while the shell sets one up it holds the pipe's fds itself.
    const s = sh(
      'tty; for fd in 0 1 2; do test -t $fd && echo "tty$fd"; done; stat -c %u:%g:%a $(tty); ls -1 /proc/$$/fd',
    )
    const { output, exit } = await collectPty(s)
    const lines = output.toString().split('\r\n')
    expect(lines[0]).toMatch(/^\/dev\/pts\/\d+$/)
    expect(lines[0]).toBe(s.ptsPath)
    expect(lines.slice(1, 4)).toEqual(['tty0', 'tty1', 'tty2'])
    const ttyGid = Number(fs.readFileSync('/etc/group', 'utf8').match(/^tty:[^:]*:(\d+):/m)?.[1] ?? 0)
    expect(lines[4]).toBe(`0:${ttyGid}:620`)
    expect(lines.slice(5).filter((l) => l !== '')).toEqual(['0', '1', '2'])
    expect(exit.exit_code).toBe(0)
  })

  // Past 64 open fds the child shares our fd table and keeps only its own (native/fd_slots.h).
  it('with thousands of fds open: still the controlling terminal on 0, 1 and 2 and nothing else; its end comes', async () => {
    const held = Array.from({ length: 3000 }, () => fs.openSync('/dev/null', 'r'))
    try {
      const s = sh('for fd in 0 1 2; do test -t $fd && echo "tty$fd"; done; ls -1 /proc/$$/fd; exit 5')
      const { output, exit } = await collectPty(s)
      const lines = output
        .toString()
        .split('\r\n')
        .filter((l) => l !== '')
      expect(lines).toEqual(['tty0', 'tty1', 'tty2', '0', '1', '2'])
      expect(exit.exit_code).toBe(5)
    } finally {
      for (const fd of held) fs.closeSync(fd)
    }
  })

  it('has the asked window size before exec, and IUTF8 on', async () => {
    const { output } = await collectPty(sh('stty size; stty -a', { rows: 33, cols: 101 }))
    const text = output.toString()
    expect(text.split('\r\n')[0]).toBe('33 101')
    expect(text).toMatch(/(^|\s)iutf8(\s|$)/)
    expect(text).not.toMatch(/-iutf8/)
  })

  it('defaults to 24x80 and TERM=xterm-256color unless TERM is given', async () => {
    expect((await collectPty(sh('stty size; echo $TERM'))).output.toString()).toBe('24 80\r\nxterm-256color\r\n')
    expect((await collectPty(sh('echo $TERM', { env: { TERM: 'vt100' } }))).output.toString()).toBe('vt100\r\n')
  })

  it('makes the program a session leader in the foreground process group', async () => {
    const s = sh('cat /proc/$$/stat')
    const { output } = await collectPty(s)
    const text = output.toString().trim()
    const st = parseStat(text)
    const tpgid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[5])
    expect(st.pid).toBe(s.pid)
    expect(st.session).toBe(s.pid)
    expect(st.pgrp).toBe(s.pid)
    expect(tpgid).toBe(st.pgrp)
  })

  it('resize changes stty size and the program gets SIGWINCH', async () => {
    const s = sh('trap "echo WINCH; stty size" WINCH; echo READY; while :; do sleep 0.05; done')
    await untilOutput(s, /READY/)
    s.resize(120, 40)
    expect(await untilOutput(s, /WINCH\r\n40 120\r\n/)).toContain('40 120')
    expect([s.cols, s.rows]).toEqual([120, 40])
    s.killTree()
    await s.exited
    expect(() => s.resize(80, 24)).toThrow(expect.objectContaining({ code: 'PROCESS_NOT_RUNNING' }))
  })

  it('refuses bad sizes with INVALID_REQUEST naming the field', () => {
    expect(() => sup.pty({ command: 'true', rows: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringContaining('rows') }),
    )
    expect(() => sup.pty({ command: 'true', cols: 1001 })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringContaining('cols') }),
    )
  })
})

describe('input', () => {
  it('Ctrl-C interrupts the foreground program and the shell lives', async () => {
    const s = sup.pty({ command: 'sh', args: ['-i'], env: { PS1: '$ ' } })
    const done = collectPty(s)
    await untilOutput(s, /\$ $/)
    s.write('sleep 1000; echo after-sleep\n')
    // The shell runs sleep in a foreground group of its own; ^C goes to that group once
    // it is the terminal's foreground (before, it would only flush the shell's input).
    await untilForeground(s.pid, (pgrp) => pgrp !== s.pid)
    s.write('\x03')
    s.write('echo alive $((40+2))\n')
    await untilOutput(s, /alive 42/)
    s.write('exit 7\n')
    const { exit } = await done
    expect(exit.exit_code).toBe(7)
  })

  it('Ctrl-D ends cat', async () => {
    const s = sup.pty({ command: 'cat' })
    const done = collectPty(s)
    s.write('hello\n')
    await untilOutput(s, /hello\r\nhello\r\n/)
    s.write('\x04')
    expect((await done).exit.exit_code).toBe(0)
  })
})

describe('the end', () => {
  it('5 MB of random bytes base64-encoded arrive whole before the exit, 100 times in a row', async () => {
    const file = path.join(dir, 'random')
    fs.writeFileSync(file, Buffer.from(Array.from({ length: 5_000_000 }, () => Math.floor(Math.random() * 256))))
    const b64 = fs.readFileSync(file).toString('base64')
    let expected = ''
    for (let i = 0; i < b64.length; i += 76) expected += `${b64.slice(i, i + 76)}\r\n`
    const want = createHash('sha256').update(expected).digest('hex')
    for (let i = 0; i < 100; i++) {
      const { output, exit, late } = await collectPty(sh(`base64 ${file}; exit 3`))
      expect({
        i,
        digest: createHash('sha256').update(output).digest('hex'),
        bytes: output.length,
        exit: exit.exit_code,
        late,
      }).toEqual({
        i,
        digest: want,
        bytes: expected.length,
        exit: 3,
        late: 0,
      })
    }
    // 670 MB through a terminal: a hang guard sized for a loaded CI machine, not a speed limit.
  }, 240_000)

  it('a signalled program is reported by its signal, never as exit 0', async () => {
    const { exit } = await collectPty(sh('kill -TERM $$'))
    expect(exit).toMatchObject({ signal: 15 })
    expect(exit.exit_code).toBeUndefined()
  })

  it('a descendant holding the terminal open does not delay the exit past the drain grace; it is killed', async () => {
    const s = sh('setsid sleep 1000 & echo "gc $!"; exit 0')
    const pid = Number((await untilOutput(s, /gc \d+\r\n/)).match(/gc (\d+)/)?.[1])
    const { exit } = await collectPty(s)
    expect(exit.exit_code).toBe(0)
    await untilDead(pid)
    expect(isDead(pid)).toBe(true)
  })

  // The same rule as a process's kill(sig) (docs/endings.md "`reason`: why it ended").
  it('kill(sig) that ends it reports killed by api; a signal it handles leaves it exited', async () => {
    const killed = sh('echo up; exec sleep 100')
    await untilOutput(killed, /up\r\n/)
    killed.kill('SIGTERM')
    expect(await killed.exited).toMatchObject({ signal: 15, reason: 'killed', killed_by: 'api' })

    const hup = sh('echo up; exec sleep 100')
    await untilOutput(hup, /up\r\n/)
    hup.kill()
    expect(await hup.exited).toMatchObject({ signal: 1, reason: 'killed', killed_by: 'api' })

    const handled = sh('trap "exit 4" USR1; echo up; while :; do sleep 0.01; done')
    await untilOutput(handled, /up\r\n/)
    handled.kill('SIGUSR1')
    const exit = await handled.exited
    expect(exit).toMatchObject({ exit_code: 4, reason: 'exited' })
    expect(exit.killed_by).toBeUndefined()
  })

  it('killTree kills a setsid descendant too', async () => {
    const s = sh('setsid sleep 1000 & echo "gc $!"; sleep 1000')
    const pid = Number((await untilOutput(s, /gc \d+\r\n/)).match(/gc (\d+)/)?.[1])
    s.killTree()
    const { exit } = await collectPty(s)
    expect(exit).toMatchObject({ signal: 9 })
    expect(exit.oom_killed).toBeUndefined()
    await untilDead(pid)
  })

  it('pause stops reading so the program blocks; resume delivers everything', async () => {
    const s = sh('head -c 2000000 /dev/zero | tr "\\0" a; echo; echo END')
    s.pause()
    let got = 0
    s.on('data', (b: Buffer) => (got += b.length))
    const done = collectPty(s)
    await s.started
    expect(got).toBe(0)
    s.resume()
    const { output } = await done
    expect(output.toString().endsWith('\r\nEND\r\n')).toBe(true)
    expect(got).toBe(2_000_000 + 2 + 5)
  })
})

describe('without cgroups', () => {
  it('killTree kills every process of the kernel session, a job in a process group of its own included', async () => {
    const bare = new Supervisor({ cgroup: false, watchdog: false })
    try {
      // set -m: job control, so the background job gets a process group of its own.
      const s = bare.pty({ command: 'sh', args: ['-c', 'set -m; sleep 1000 & echo "job $!"; wait'] })
      const pid = Number((await untilOutput(s, /job \d+\r\n/)).match(/job (\d+)/)?.[1])
      const st = stat(pid)
      expect(st?.session).toBe(s.pid)
      expect(st?.pgrp).not.toBe(s.pid)
      s.killTree()
      expect((await collectPty(s)).exit).toMatchObject({ signal: 9 })
      await untilDead(pid)
    } finally {
      await bare.close()
    }
  })
})

describe('credentials and limits', () => {
  it('user gives exact uid, gid and groups, and the terminal belongs to that uid', async () => {
    const nobody = account('nobody')
    expect(nobody).not.toBeNull()
    const { output } = await collectPty(sh('id -u; id -g; id -G; stat -c %u $(tty)', { user: 'nobody' }))
    const [uid, gid, groups, owner] = output.toString().split('\r\n')
    expect(Number(uid)).toBe(nobody?.uid)
    expect(Number(gid)).toBe(nobody?.gid)
    expect(
      groups
        .split(' ')
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(nobody?.groups)
    expect(Number(owner)).toBe(nobody?.uid)
  })

  it('a memory hog with memory_limit is reported oom_killed', async () => {
    expect(sup.capabilities.oomDetection).toBe(true)
    const hog = 'b = []\nfor i in range(1024):\n    b.append(bytearray(1 << 20))\nraise SystemExit(42)'
    const { exit } = await collectPty(sup.pty({ command: 'python3', args: ['-c', hog], memory_limit: '64M' }))
    expect(exit).toMatchObject({ signal: 9, oom_killed: true })
    expect(exit.oom_kills).toBeGreaterThanOrEqual(1)
  })

  // The same counters as a process's exit: the session used to read only the memory ones.
  it('reports the pids and cpu counters of its cgroup at the exit', async () => {
    expect(sup.capabilities.controllers).toMatchObject({ pids: { usable: true }, cpu: { usable: true } })
    // Limited to one task, the shell's fork is refused: a hit the exit must carry.
    const { exit } = await collectPty(
      sup.pty({ command: 'sh', args: ['-c', 'true & wait'], pids_limit: 1, cpu_limit: 1 }),
    )
    expect(exit.pids_limit_hits).toBeGreaterThanOrEqual(1)
    expect(exit.usage?.pids_peak).toBe(1)
    expect(exit.usage?.cpu_throttled_ms).toEqual(expect.any(Number))
  })

  it('a missing program rejects started and exited with the spawn error', async () => {
    const s = sup.pty({ command: '/nonexistent/prog' })
    await expect(s.started).rejects.toMatchObject({ code: 'ENOENT', syscall: 'execve' })
    await expect(s.exited).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
