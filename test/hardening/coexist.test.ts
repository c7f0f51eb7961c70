/**
 * Coexistence at scale (docs/guarantees.md): 500 processes through Node's
 * child_process and 500 through sandproc, all started at once from one process, every
 * exit delivered to its own side with its own status. (test/hardening/sigchld.test.ts
 * covers the mechanisms at a smaller scale.)
 */
import { spawn as spawnNode } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/index.js'
import type { ExitEvent } from '../../src/types.js'
import { alive, children } from '../helpers/hardening.js'

let sup: Supervisor

beforeAll(() => {
  sup = new Supervisor()
})

afterAll(async () => {
  await sup.close()
})

/** The status each side's process i ends with: an exit code of its own, or a signal. */
function nodeScript(i: number): { cmd: string; code: number | null; signal: NodeJS.Signals | null } {
  if (i % 7 === 3) return { cmd: 'kill -TERM $$', code: null, signal: 'SIGTERM' }
  return { cmd: `exit ${i % 256}`, code: i % 256, signal: null }
}

function sandScript(i: number): { cmd: string; exit: ExitEvent } {
  if (i % 5 === 2) return { cmd: 'kill -USR1 $$', exit: { signal: 10, reason: 'signaled' } }
  if (i % 11 === 4) return { cmd: 'kill -KILL $$', exit: { signal: 9, reason: 'signaled' } }
  return { cmd: `exit ${(i * 7) % 256}`, exit: { exit_code: (i * 7) % 256, reason: 'exited' } }
}

describe('child_process and sandproc at once', () => {
  it('500 of each, started together: every exit delivered with the right status', async () => {
    const N = 500
    const node: Array<Promise<{ code: number | null; signal: NodeJS.Signals | null }>> = []
    const sand: Array<Promise<ExitEvent>> = []
    const sandPids: number[] = []
    for (let i = 0; i < N; i++) {
      const child = spawnNode('sh', ['-c', nodeScript(i).cmd], { stdio: 'ignore' })
      node.push(
        new Promise((resolve, reject) => {
          child.on('error', reject)
          child.on('exit', (code, signal) => resolve({ code, signal }))
        }),
      )
      const proc = sup.run({ command: 'sh', args: ['-c', sandScript(i).cmd] })
      void proc.started.then(({ pid }) => sandPids.push(pid))
      sand.push(proc.exited)
    }
    const [nodeExits, sandExits] = await Promise.all([Promise.all(node), Promise.all(sand)])
    const wrongNode = nodeExits.flatMap((e, i) => {
      const want = nodeScript(i)
      return e.code === want.code && e.signal === want.signal ? [] : [{ i, got: e, want }]
    })
    const wrongSand = sandExits.flatMap((e, i) => {
      const want = sandScript(i).exit
      return e.exit_code === want.exit_code && e.signal === want.signal && e.oom_killed === undefined
        ? []
        : [{ i, got: e, want }]
    })
    expect(wrongNode).toEqual([])
    expect(wrongSand).toEqual([])
    expect(sup.running).toBe(0)
    // Nothing left behind: no zombie and no live process of either side.
    expect(sandPids).toHaveLength(N)
    expect(sandPids.filter(alive)).toEqual([])
    expect(children().filter((c) => c.state === 'Z')).toEqual([])
  })
})
