/**
 * `sup.handover()` and `Supervisor.adopt()` for embedders (docs/upgrade.md), with the
 * failure path: a check that fails and an execve that fails leave every process and fd
 * as they were. The program runs as a child (an execve would replace the test runner).
 */
import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { Supervisor } from '../../src/index.js'
import { alive, until } from '../helpers/hardening.js'
import { runPhases, type Phase } from '../helpers/phases.js'

function runEmbedder(count: number): Promise<Phase[]> {
  return runPhases('test/fixtures/handover/embedder.ts', [String(count)])
}

describe('sup.handover() and Supervisor.adopt()', () => {
  it('fails cleanly first, then hands every process to the program it becomes', async () => {
    const [old, next, closed] = await runEmbedder(5)
    expect(old).toMatchObject({
      phase: 'old',
      checkFailed: 'HANDOVER_CHECK_FAILED',
      execFailed: 'HANDOVER_EXEC_FAILED',
      flagsKept: true,
      running: 6,
    })
    expect(next).toMatchObject({
      phase: 'new',
      pid: old.pid,
      extra: { from: old.pid },
      running: 6,
      pids: old.pids,
      handle: 1,
      exit: { code: 7, reason: 'exited' },
      // Begun in the old program, ended in the new one: one line.
      lines: ['partial x'],
    })
    expect(closed).toEqual({ phase: 'closed' })
  }, 120_000)

  it('refuses without handover: true; a running managed process is no reason to refuse', async () => {
    const plain = new Supervisor()
    await expect(plain.handover({ check: false })).rejects.toMatchObject({ code: 'HANDOVER_REFUSED' })
    await plain.close()
    const sup = new Supervisor({ handover: true })
    try {
      const m = sup.start({ command: 'sleep', args: ['30'], name: 'kept' })
      await m.started
      // Past the refusal: it gets as far as the execve, which fails and leaves it running.
      await expect(sup.handover({ check: false, argv: ['/nonexistent/sandproc'] })).rejects.toMatchObject({
        code: 'HANDOVER_EXEC_FAILED',
      })
      expect(sup.managed('kept')?.status).toBe('running')
    } finally {
      await sup.close()
    }
  })

  it('refuses while a process is frozen, and hands over once it is thawed', async () => {
    const sup = new Supervisor({ handover: true })
    try {
      const p = sup.start({ command: 'sleep', args: ['30'] })
      await p.started
      await p.freeze()
      // An argv that cannot be executed: were the refusal missing, the execve fails (it
      // must never replace the test runner).
      const nowhere = { check: false as const, argv: ['/nonexistent/sandproc'] }
      await expect(sup.handover(nowhere)).rejects.toMatchObject({
        code: 'HANDOVER_REFUSED',
        message: expect.stringContaining('frozen'),
      })
      expect(p.frozen).toBe(true)
      await p.thaw()
      // Past the refusal now: it gets as far as the execve.
      await expect(sup.handover(nowhere)).rejects.toMatchObject({
        code: 'HANDOVER_EXEC_FAILED',
      })
      expect(p.running).toBe(true)
    } finally {
      await sup.close()
    }
  })
})

describe('without cgroups', () => {
  it('a crash after the swap still ends every tree: the old watchdog kept its table of groups', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/handover/no-cgroups.ts'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const phases: Phase[] = []
    let out = ''
    let gotNew!: () => void
    const newPhase = new Promise<void>((resolve) => (gotNew = resolve))
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
      for (; out.includes('\n'); out = out.slice(out.indexOf('\n') + 1)) {
        phases.push(JSON.parse(out.slice(0, out.indexOf('\n'))) as Phase)
        if (phases.at(-1)?.phase === 'new') gotNew()
      }
    })
    const closed = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_c, sig) => resolve(sig)))
    // A program that dies before its second phase fails the test at once.
    await Promise.race([newPhase, closed])
    expect(phases.map((p) => p.phase)).toEqual(['old', 'new'])
    const [old, next] = phases as [Phase & { grandchildren: number[] }, Phase & { own: number }]
    const grandchildren = [...old.grandchildren, next.own]
    try {
      // The old watchdog's table lists the two adopted trees left; the new one's lists
      // them too (it guards every child it covers) and its own.
      expect(next).toMatchObject({ pid: old.pid, running: 3, tables: [2, 3] })
      // One adopted tree was ended in the new program (its group with it); two remain, and one of its own.
      expect(grandchildren.filter(alive)).toHaveLength(3)
      child.kill('SIGKILL')
      expect(await closed).toBe('SIGKILL')
      await until(() => !grandchildren.some(alive))
      expect(grandchildren.filter(alive)).toEqual([])
    } finally {
      child.kill('SIGKILL')
      for (const pid of grandchildren) if (alive(pid)) process.kill(pid, 'SIGKILL')
    }
  }, 120_000)
})
