/**
 * Retained output must be bounded in memory, not only in characters
 * (docs/guarantees.md: "Nothing lost, memory bounded"). A `start()`ed process printing
 * very short lines (`yes`) must not make the supervisor hold many times its retention
 * bound: each retained line costs an object, a timestamp and two array slots on top of
 * its text.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { OutputLog, Supervisor } from '../../src/index.js'

const MiB = 1024 * 1024
const RETAIN = MiB

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

let sup: Supervisor

beforeAll(() => {
  sup = new Supervisor({ retainBytes: RETAIN })
})

afterAll(async () => {
  await sup.close()
})

function heapUsed(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

describe('retention bound in memory', () => {
  it('a started `yes` (2-byte lines) holds at most 4x retainBytes of heap once it exited', async () => {
    const before = heapUsed()
    const proc = sup.start({ command: 'yes' })
    // Far more lines than the bound can hold at any per-line cost.
    let lines = 0
    await new Promise<void>((resolve) =>
      proc.on('output', () => {
        if (++lines === 2 * RETAIN) resolve()
      }),
    )
    proc.kill()
    await proc.exited
    const snap = proc.log?.snapshot('stdout')
    expect(snap?.dropped).toBeGreaterThan(0)
    expect(snap?.lines.every((l) => l.line === 'y')).toBe(true)
    const held = heapUsed() - before
    expect(held).toBeLessThan(4 * RETAIN)
  })

  it('exited processes together keep at most retainTotalBytes; the oldest lose their output first', async () => {
    const total = 4 * MiB
    const own = new Supervisor({ retainBytes: RETAIN, retainTotalBytes: total })
    try {
      const before = heapUsed()
      const procs = []
      // Each prints 2 MB of 1000-byte lines: each keeps about 1 MiB, twenty would keep 20.
      for (let i = 0; i < 20; i++) {
        const p = own.start({ command: 'sh', args: ['-c', "head -c 2000000 /dev/zero | tr '\\0' a | fold -w 1000"] })
        await p.exited
        procs.push(p)
      }
      // The supervisor takes the exit into its table in its own continuation.
      await new Promise<void>((resolve) => setImmediate(resolve))
      const kept = procs.map((p) => p.log?.bytes ?? 0)
      expect(kept.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(total)
      // The newest keep theirs, the oldest were emptied, and say so.
      expect(kept.at(-1)).toBeGreaterThan(RETAIN / 2)
      expect(kept[0]).toBe(0)
      const first = procs[0].log?.snapshot('stdout')
      expect(first).toEqual({ lines: [], dropped: 2000 })
      // Still listed.
      expect(own.get(procs[0].pid)?.status).toBe('exited')
      expect(heapUsed() - before).toBeLessThan(4 * total)
    } finally {
      await own.close()
    }
  })
})

describe('OutputLog.release()', () => {
  it('drops every retained line, counted as dropped; followers skip to the end', async () => {
    const log = new OutputLog()
    for (let i = 0; i < 5; i++) log.push({ line: `o${i}`, timestamp: i, stream: i % 2 === 0 ? 'stdout' : 'stderr' })
    expect(log.bytes).toBeGreaterThan(0)
    log.release()
    expect(log.bytes).toBe(0)
    expect(log.snapshot('output')).toEqual({ lines: [], dropped: 5 })
    expect(log.snapshot('stdout')).toEqual({ lines: [], dropped: 3 })
    log.push({ line: 'after', timestamp: 9, stream: 'stdout' })
    log.end()
    const seen = []
    for await (const e of log.follow('output')) seen.push([e.id, e.event.line])
    expect(seen).toEqual([[5, 'after']])
  })
})
