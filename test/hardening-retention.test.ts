/**
 * Retained output must be bounded in memory, not only in characters (issue 6: "never
 * leak memory"). A `start()`ed process printing very short lines (`yes`) must not make the
 * supervisor hold many times its retention bound: each retained line costs an object, a
 * timestamp and two array slots on top of its text.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { Supervisor } from '../src/index.js'

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
})
