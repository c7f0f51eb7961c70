/**
 * `sup.handover()` and `Supervisor.adopt()` for embedders (docs/upgrade.md), with the
 * failure path: a check that fails and an execve that fails leave every process and fd
 * as they were. The program runs as a child (an execve would replace the test runner).
 */
import { describe, expect, it } from 'vitest'
import { Supervisor } from '../../src/index.js'
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
