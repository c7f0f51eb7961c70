/**
 * sandproc and Node's child_process in one process: libuv owns SIGCHLD and reaps its
 * own pids, sandproc reaps its own through pidfds. Neither may take the other's exits.
 * A stolen reap shows as a wrong status (a status lost to the other side), so every
 * process here gets an exit code of its own and every code is checked.
 */
import { spawn as spawnNode, spawnSync, type ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { SupervisedProcess } from '../../src/core/process.js'
import { Supervisor } from '../../src/supervisor.js'
import type { ExitEvent } from '../../src/types.js'
import { ending } from '../helpers/events.js'

let sup: Supervisor

beforeAll(() => {
  sup = new Supervisor()
})

afterAll(() => sup.close())

interface NodeExit {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
}

/** child_process.spawn with its exit and stdout as one promise. */
function nodeRun(cmd: string): { child: ChildProcess; done: Promise<NodeExit> } {
  const child = spawnNode('sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'inherit'] })
  let stdout = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  // 'close' comes after 'exit' and after stdout ended.
  const done = new Promise<NodeExit>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout }))
  })
  return { child, done }
}

function sandRun(cmd: string): SupervisedProcess {
  return sup.run({ command: 'sh', args: ['-c', cmd] })
}

async function sandOutput(proc: SupervisedProcess): Promise<{ exit: ExitEvent; stdout: string[] }> {
  const stdout: string[] = []
  proc.on('output', (e: { line: string }) => stdout.push(e.line))
  const exit = await proc.exited
  return { exit, stdout }
}

describe('child_process beside sandproc', () => {
  it('child_process exits are delivered, exactly, while sandproc processes run', async () => {
    const sleepers = Array.from({ length: 20 }, () => sup.start({ command: 'sleep', args: ['100'] }))
    await Promise.all(sleepers.map((p) => p.started))

    const runs = Array.from({ length: 60 }, (_, i) => nodeRun(`echo node-${i}; exit ${i + 1}`))
    const signalled = nodeRun('kill -TERM $$')
    const results = await Promise.all(runs.map((r) => r.done))
    results.forEach((r, i) => expect(r).toEqual({ code: i + 1, signal: null, stdout: `node-${i}\n` }))
    expect(await signalled.done).toEqual({ code: null, signal: 'SIGTERM', stdout: '' })

    // The sleepers were untouched by all that reaping, and still report exactly.
    expect(sleepers.every((p) => p.running)).toBe(true)
    for (const p of sleepers) p.kill()
    for (const p of sleepers) expect(ending(await p.exited)).toEqual({ signal: 9 })
  })

  it('sandproc exits are delivered, exactly, while child_process processes run', async () => {
    const sleepers = Array.from({ length: 20 }, () => nodeRun('exec sleep 100'))
    const runs = Array.from({ length: 60 }, (_, i) => sandRun(`echo sand-${i}; exit ${i + 1}`))
    const results = await Promise.all(runs.map(sandOutput))
    results.forEach((r, i) => {
      expect(ending(r.exit)).toEqual({ exit_code: i + 1 })
      expect(r.stdout).toEqual([`sand-${i}`])
    })

    expect(sleepers.every((s) => s.child.exitCode === null && s.child.signalCode === null)).toBe(true)
    for (const s of sleepers) s.child.kill('SIGKILL')
    for (const s of sleepers) expect(await s.done).toEqual({ code: null, signal: 'SIGKILL', stdout: '' })
  })

  it('many of both at once, interleaved, each with its own status', async () => {
    const n = 150
    const node: Array<Promise<NodeExit>> = []
    const sand: SupervisedProcess[] = []
    for (let i = 0; i < n; i++) {
      node.push(nodeRun(`exit ${i % 200}`).done)
      sand.push(sandRun(`exit ${(i + 100) % 200}`))
      if (i % 10 === 0) sand.push(sandRun('kill -USR1 $$'))
    }
    const nodeResults = await Promise.all(node)
    const sandResults = await Promise.all(sand.map((p) => p.exited))
    nodeResults.forEach((r, i) => expect([i, r.code, r.signal]).toEqual([i, i % 200, null]))
    let k = 0
    for (let i = 0; i < n; i++) {
      expect([i, ending(sandResults[k++])]).toEqual([i, { exit_code: (i + 100) % 200 }])
      if (i % 10 === 0) expect(ending(sandResults[k++])).toEqual({ signal: 10 })
    }
    expect(k).toBe(sandResults.length)
  })

  it('spawnSync works while sandproc processes start and exit', async () => {
    const sand = Array.from({ length: 30 }, (_, i) => sandRun(`exit ${i}`))
    for (let i = 0; i < 10; i++) {
      const r = spawnSync('sh', ['-c', `echo sync-${i}; exit ${i + 3}`], { encoding: 'utf8' })
      expect([r.status, r.signal, r.stdout]).toEqual([i + 3, null, `sync-${i}\n`])
    }
    const exits = await Promise.all(sand.map((p) => p.exited))
    exits.forEach((e, i) => expect(ending(e)).toEqual({ exit_code: i }))
  })

  it('a child_process exit during a sandproc process tree kill is still its own', async () => {
    const tree = sup.start({ command: 'sh', args: ['-c', 'for i in 1 2 3 4 5; do sleep 100 & done; wait'] })
    await tree.started
    const node = nodeRun('exit 77')
    tree.killTree()
    const [nodeExit, sandExit] = await Promise.all([node.done, tree.exited])
    expect(nodeExit.code).toBe(77)
    expect(ending(sandExit)).toEqual({ signal: 9 })
  })
})
