/**
 * Backpressure of async iteration measured in bytes (docs/guarantees.md). A consumer
 * that stops taking events must hold the writer back by its full pipe before the
 * supervisor holds more than a few MiB, whatever the line length: counting queued
 * events alone lets 4096 lines of 64 KiB (256 MiB) pile up per process.
 */
import { beforeAll, describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/index.js'
import type { ExitEvent } from '../../src/types.js'
import { isExit } from '../helpers/events.js'
import { compileC, floodLine, heldBack, peakRssBytes, resetPeakRss, rssBytes } from '../helpers/hardening.js'
import { useSupervisor } from '../helpers/fixture.js'

const MiB = 1024 * 1024
const HELD_BOUND = 32 * MiB

let flood: string
let sup: Supervisor

beforeAll(() => {
  flood = compileC('flood')
})
useSupervisor((s) => (sup = s))

describe('iteration backpressure counts bytes', () => {
  it('a consumer that stops taking 64 KiB lines: the writer is held back before the supervisor holds 32 MiB', async () => {
    const before = rssBytes()
    const proc = sup.run({ command: flood, args: ['lines', String(1_000_000_000), String(65537)] })
    const it = proc[Symbol.asyncIterator]()
    const first = await it.next()
    const pid = (first.value as { pid: number }).pid
    await heldBack(pid)
    const held = rssBytes() - before
    proc.killTree()
    let exit: ExitEvent | null = null
    let lines = 0
    for (;;) {
      const r = await it.next()
      if (r.done === true) break
      if ('line' in r.value) {
        // Killed mid-write: the last line may be cut short, never altered.
        expect(floodLine(lines, 65537).startsWith(r.value.line)).toBe(true)
        lines++
      }
      if (isExit(r.value)) exit = r.value
    }
    expect(exit).toMatchObject({ signal: 9 })
    expect(lines).toBeGreaterThan(0)
    expect(held).toBeLessThan(HELD_BOUND)
  })

  it('one 100 MB line, consumer stalls halfway: the writer is held back, then every byte arrives', async () => {
    const total = 100_000_000
    const limit = 65536
    const template = 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil((limit + 26) / 26))
    const before = rssBytes()
    resetPeakRss()
    const proc = sup.run({ command: flood, args: ['line', String(total)] })
    const { pid } = await proc.started
    let offset = 0
    let stalledRss = 0
    let exit: ExitEvent | null = null
    for await (const ev of proc) {
      if (isExit(ev)) exit = ev
      if (!('line' in ev)) continue
      const want = template.slice(offset % 26, (offset % 26) + ev.line.length)
      if (ev.line !== want) expect(ev.line).toBe(want)
      offset += ev.line.length
      if (stalledRss === 0 && offset >= total / 2) {
        await heldBack(pid)
        stalledRss = rssBytes()
      }
    }
    expect(exit).toMatchObject({ exit_code: 0 })
    expect(offset).toBe(total)
    expect(stalledRss - before).toBeLessThan(HELD_BOUND)
    expect(peakRssBytes() - before).toBeLessThan(128 * MiB)
  })
})
