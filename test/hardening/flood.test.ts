/**
 * Output floods at the library level (docs/guarantees.md): a fast writer and a
 * consumer that keeps stalling, one huge line without a newline, and 200 writers at
 * once. Nothing may be lost or reordered, the writer must be held back by its full
 * pipe while the consumer stalls, and the supervisor's RSS must stay bounded. Sizes
 * here are the suite's; `npm run soak` runs the 1 GB form (soak/soak.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/index.js'
import type { SupervisedProcess } from '../../src/core/process.js'
import type { ExitEvent } from '../../src/types.js'
import { isExit } from '../helpers/events.js'
import { compileC, floodLine, heldBack, peakRssBytes, resetPeakRss, rssBytes } from '../helpers/hardening.js'
import { useSupervisor } from '../helpers/fixture.js'

const MiB = 1024 * 1024
/** The stated bound: supervisor RSS growth over its level before the flood. */
const RSS_BOUND = 128 * MiB
const FLOOD_BYTES = 200_000_000
const STALL_EVERY = 20_000_000

let flood: string
let sup: Supervisor

beforeAll(() => {
  flood = compileC('flood')
})
useSupervisor((s) => (sup = s))

describe('flood: a fast writer and a consumer that stalls', () => {
  it(`${FLOOD_BYTES / 1e6} MB of 100-byte lines: writer held back at each stall, all lines in order, RSS bounded`, async () => {
    const before = rssBytes()
    resetPeakRss()
    const proc = sup.run({ command: flood, args: ['lines', String(FLOOD_BYTES), '100'] })
    const { pid } = await proc.started
    let seq = 0
    let sinceStall = 0
    let stalls = 0
    let maxStalledRss = 0
    let exit: ExitEvent | null = null
    for await (const ev of proc) {
      if (isExit(ev)) exit = ev
      if (!('line' in ev)) continue
      // Every line exactly as written, in order (a full compare costs little at 100 bytes).
      if (ev.line !== floodLine(seq, 100)) expect(ev.line).toBe(floodLine(seq, 100))
      seq++
      sinceStall += 100
      if (sinceStall >= STALL_EVERY && seq * 100 < FLOOD_BYTES - STALL_EVERY) {
        // Stall: take nothing until the writer sleeps in write(2) on its full pipe.
        sinceStall = 0
        stalls++
        await heldBack(pid)
        maxStalledRss = Math.max(maxStalledRss, rssBytes())
      }
    }
    expect(exit).toMatchObject({ exit_code: 0 })
    expect(seq).toBe(FLOOD_BYTES / 100)
    expect(stalls).toBeGreaterThanOrEqual(8)
    expect(maxStalledRss - before).toBeLessThan(RSS_BOUND)
    expect(peakRssBytes() - before).toBeLessThan(RSS_BOUND)
  })

  it('one 100 MB line without a newline: every byte delivered in pieces of at most 64 KiB, memory bounded', async () => {
    const total = 100_000_000
    const limit = 65536
    // Byte i is 'a' + i % 26: a template long enough for any piece at any offset.
    const template = 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil((limit + 26) / 26))
    const before = rssBytes()
    resetPeakRss()
    const proc = sup.run({ command: flood, args: ['line', String(total)] })
    let offset = 0
    let pieces = 0
    let exit: ExitEvent | null = null
    for await (const ev of proc) {
      if (isExit(ev)) exit = ev
      if (!('line' in ev)) continue
      expect(ev.line.length).toBeLessThanOrEqual(limit)
      const want = template.slice(offset % 26, (offset % 26) + ev.line.length)
      if (ev.line !== want) expect(ev.line).toBe(want)
      offset += ev.line.length
      pieces++
    }
    expect(exit).toMatchObject({ exit_code: 0 })
    expect(offset).toBe(total)
    expect(pieces).toBe(Math.ceil(total / limit))
    expect(peakRssBytes() - before).toBeLessThan(RSS_BOUND)
  })
})

describe('flood: many writers', () => {
  it('200 processes writing 500 KB each at once all complete, each in order, nothing lost', async () => {
    const N = 200
    const BYTES = 500_000
    const LEN = 100
    const before = rssBytes()
    resetPeakRss()
    const procs: SupervisedProcess[] = []
    const seen: number[] = new Array<number>(N).fill(0)
    const bad: string[] = []
    for (let i = 0; i < N; i++) {
      const proc = sup.run({ command: flood, args: ['lines', String(BYTES), String(LEN)] })
      proc.on('output', (ev) => {
        if (ev.stream !== 'stdout' || ev.line !== floodLine(seen[i], LEN)) bad.push(`${i}:${seen[i]}`)
        seen[i]++
      })
      procs.push(proc)
    }
    const exits = await Promise.all(procs.map((p) => p.exited))
    expect(bad).toEqual([])
    expect(exits.every((e) => e.exit_code === 0)).toBe(true)
    expect(seen).toEqual(new Array<number>(N).fill(BYTES / LEN))
    expect(sup.running).toBe(0)
    expect(peakRssBytes() - before).toBeLessThan(RSS_BOUND)
  })
})
