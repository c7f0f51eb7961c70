import { describe, expect, it } from 'vitest'
import { OutputLog, type LogEntry, type LogView } from '../../src/core/retain.js'
import type { OutputEvent, StreamName } from '../../src/types.js'

let clock = 1_700_000_000_000
function ev(line: string, stream: StreamName = 'stdout'): OutputEvent {
  return { line, timestamp: clock++, stream }
}

/** Lets pending promise callbacks (followers waking up) run; no timers involved. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Collects a follower in the background; `entries` fills as it goes. */
function collect(log: OutputLog, view: LogView, after?: number, signal?: AbortSignal) {
  const entries: LogEntry[] = []
  const done = (async () => {
    for await (const e of log.follow(view, after, signal)) entries.push(e)
  })()
  return { entries, done }
}

const lines = (entries: LogEntry[]): string[] => entries.map((e) => e.event.line)
const ids = (entries: LogEntry[]): number[] => entries.map((e) => e.id)

describe('OutputLog: snapshot and retention', () => {
  it('snapshots each stream and the combined view in push order', () => {
    const log = new OutputLog()
    log.push(ev('o1'))
    log.push(ev('e1', 'stderr'))
    log.push(ev('o2'))
    log.push(ev('e2', 'stderr'))
    log.push(ev('o3'))
    expect(log.snapshot('stdout').lines.map((e) => e.line)).toEqual(['o1', 'o2', 'o3'])
    expect(log.snapshot('stderr').lines.map((e) => e.line)).toEqual(['e1', 'e2'])
    const out = log.snapshot('output')
    expect(out.lines.map((e) => `${e.stream}:${e.line}`)).toEqual([
      'stdout:o1',
      'stderr:e1',
      'stdout:o2',
      'stderr:e2',
      'stdout:o3',
    ])
    expect(out.dropped).toBe(0)
  })

  it('returns a copy: later pushes do not change an earlier snapshot', () => {
    const log = new OutputLog()
    log.push(ev('a'))
    const snap = log.snapshot('stdout')
    log.push(ev('b'))
    expect(snap.lines.map((e) => e.line)).toEqual(['a'])
  })

  it('drops the oldest lines of a stream past its bound (length + 1 per line) and counts them', () => {
    const log = new OutputLog({ maxBytes: 10 })
    for (const l of ['aaaa', 'bbbb', 'cccc']) log.push(ev(l)) // 5 each
    const snap = log.snapshot('stdout')
    expect(snap.lines.map((e) => e.line)).toEqual(['bbbb', 'cccc'])
    expect(snap.dropped).toBe(1)
    log.push(ev('dddddddd')) // 9: only it fits
    expect(log.snapshot('stdout').lines.map((e) => e.line)).toEqual(['dddddddd'])
    expect(log.snapshot('stdout').dropped).toBe(3)
  })

  it('bounds empty lines too', () => {
    const log = new OutputLog({ maxBytes: 100 })
    for (let i = 0; i < 10_000; i++) log.push(ev(''))
    expect(log.snapshot('stdout')).toEqual({
      lines: Array(100).fill(expect.objectContaining({ line: '' })),
      dropped: 9900,
    })
  })

  it('bounds each stream on its own; the combined view holds what both retain', () => {
    const log = new OutputLog({ maxBytes: 6 })
    log.push(ev('E1', 'stderr')) // 3
    for (let i = 1; i <= 5; i++) log.push(ev(`o${i}`)) // 3 each: two fit
    log.push(ev('E2', 'stderr'))
    expect(log.snapshot('stdout')).toMatchObject({ dropped: 3 })
    expect(log.snapshot('stderr')).toMatchObject({ dropped: 0 })
    const out = log.snapshot('output')
    expect(out.lines.map((e) => e.line)).toEqual(['E1', 'o4', 'o5', 'E2'])
    expect(out.dropped).toBe(3)
  })

  it('drops a line larger than the whole bound at once, and maxBytes 0 retains nothing', () => {
    const log = new OutputLog({ maxBytes: 4 })
    log.push(ev('ab'))
    log.push(ev('toolong'))
    expect(log.snapshot('stdout')).toEqual({ lines: [], dropped: 2 })
    const none = new OutputLog({ maxBytes: 0 })
    none.push(ev(''))
    expect(none.snapshot('output')).toEqual({ lines: [], dropped: 1 })
  })

  it('keeps ids and order right across the internal compaction of many dropped lines', () => {
    const log = new OutputLog({ maxBytes: 1000 })
    for (let i = 0; i < 50_000; i++) log.push(ev(String(i % 10), i % 3 === 0 ? 'stderr' : 'stdout'))
    const out = log.snapshot('output')
    expect(out.lines.length + out.dropped).toBe(50_000)
    const std = log.snapshot('stdout')
    const err = log.snapshot('stderr')
    expect(std.lines.length).toBe(500)
    expect(err.lines.length).toBe(500)
    expect(std.dropped + err.dropped).toBe(out.dropped)
    const stamps = out.lines.map((e) => e.timestamp)
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b))
  })

  it('rejects bad options and views with TypeError', () => {
    expect(() => new OutputLog({ maxBytes: -1 })).toThrow(TypeError)
    expect(() => new OutputLog({ maxBytes: 1.5 })).toThrow(TypeError)
    const log = new OutputLog()
    expect(() => log.snapshot('stdin' as LogView)).toThrow(TypeError)
    expect(() => log.follow('both' as LogView)).toThrow(TypeError)
    expect(() => log.follow('stdout', -2)).toThrow(TypeError)
    expect(() => log.follow('stdout', 0.5)).toThrow(TypeError)
  })

  it('ignores lines pushed after end()', () => {
    const log = new OutputLog()
    log.push(ev('a'))
    expect(log.ended).toBe(false)
    log.end()
    log.end()
    expect(log.ended).toBe(true)
    log.push(ev('late'))
    expect(log.snapshot('output').lines.map((e) => e.line)).toEqual(['a'])
  })
})

describe('OutputLog: follow', () => {
  it('replays, then yields live lines, then returns after end()', async () => {
    const log = new OutputLog()
    log.push(ev('a'))
    log.push(ev('b'))
    const f = collect(log, 'stdout')
    await settle()
    expect(lines(f.entries)).toEqual(['a', 'b'])
    log.push(ev('c'))
    log.push(ev('x', 'stderr'))
    await settle()
    expect(lines(f.entries)).toEqual(['a', 'b', 'c'])
    log.push(ev('d'))
    log.end()
    await f.done
    expect(f.entries).toEqual([
      { id: 0, event: expect.objectContaining({ line: 'a' }) },
      { id: 1, event: expect.objectContaining({ line: 'b' }) },
      { id: 2, event: expect.objectContaining({ line: 'c' }) },
      { id: 3, event: expect.objectContaining({ line: 'd' }) },
    ])
  })

  it('after end(), replays what is retained and returns', async () => {
    const log = new OutputLog()
    log.push(ev('a', 'stderr'))
    log.end()
    const f = collect(log, 'stderr')
    await f.done
    expect(lines(f.entries)).toEqual(['a'])
  })

  it('starts after the given id (Last-Event-ID), in stream and combined views', async () => {
    const log = new OutputLog()
    log.push(ev('o0'))
    log.push(ev('e0', 'stderr'))
    log.push(ev('o1'))
    log.push(ev('e1', 'stderr'))
    log.end()
    const s = collect(log, 'stdout', 0)
    const o = collect(log, 'output', 1)
    const none = collect(log, 'stderr', 1)
    await Promise.all([s.done, o.done, none.done])
    expect(s.entries.map((e) => [e.id, e.event.line])).toEqual([[1, 'o1']])
    expect(o.entries.map((e) => [e.id, e.event.line])).toEqual([
      [2, 'o1'],
      [3, 'e1'],
    ])
    expect(none.entries).toEqual([])
  })

  it('with an id beyond the lines so far, waits for lines past it', async () => {
    const log = new OutputLog()
    const s = collect(log, 'stdout', 2)
    const o = collect(log, 'output', 2)
    for (let i = 0; i < 3; i++) log.push(ev(`o${i}`))
    log.push(ev('e0', 'stderr'))
    log.push(ev('o3'))
    log.end()
    await Promise.all([s.done, o.done])
    expect(s.entries.map((e) => [e.id, e.event.line])).toEqual([[3, 'o3']])
    expect(o.entries.map((e) => [e.id, e.event.line])).toEqual([
      [3, 'e0'],
      [4, 'o3'],
    ])
  })

  it('combined view: interleaved live lines in push order with their own ids and stream tags', async () => {
    const log = new OutputLog()
    const o = collect(log, 'output')
    const order: OutputEvent[] = []
    for (let i = 0; i < 20; i++) {
      const e = ev(`l${i}`, i % 3 === 0 ? 'stderr' : 'stdout')
      order.push(e)
      log.push(e)
      if (i % 5 === 0) await settle()
    }
    log.end()
    await o.done
    expect(ids(o.entries)).toEqual([...Array(20).keys()])
    expect(o.entries.map((e) => e.event)).toEqual(order)
  })

  it('ends early, without throwing, when the signal aborts while waiting', async () => {
    const log = new OutputLog()
    log.push(ev('a'))
    const ac = new AbortController()
    const f = collect(log, 'output', -1, ac.signal)
    await settle()
    ac.abort()
    await f.done
    expect(lines(f.entries)).toEqual(['a'])
    expect(log.ended).toBe(false)
    // The log keeps working for others after an aborted follower.
    log.push(ev('b'))
    log.end()
    const g = collect(log, 'stdout')
    await g.done
    expect(lines(g.entries)).toEqual(['a', 'b'])
  })

  it('yields nothing for an already aborted signal, and stops mid-replay on abort', async () => {
    const log = new OutputLog()
    for (let i = 0; i < 5; i++) log.push(ev(`l${i}`))
    const gone = collect(log, 'stdout', -1, AbortSignal.abort())
    await gone.done
    expect(gone.entries).toEqual([])

    const ac = new AbortController()
    const seen: string[] = []
    for await (const e of log.follow('stdout', -1, ac.signal)) {
      seen.push(e.event.line)
      if (seen.length === 2) ac.abort()
    }
    expect(seen).toEqual(['l0', 'l1'])
  })

  it('a follower that falls behind the bound resumes at the oldest retained line', async () => {
    const log = new OutputLog({ maxBytes: 9 }) // three lines of 2 chars
    log.push(ev('o0'))
    const it = log.follow('stdout')[Symbol.asyncIterator]()
    expect(await it.next()).toEqual({ done: false, value: { id: 0, event: expect.objectContaining({ line: 'o0' }) } })
    for (let i = 1; i <= 6; i++) log.push(ev(`o${i}`))
    const rest: LogEntry[] = []
    log.end()
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value)
    expect(rest.map((e) => [e.id, e.event.line])).toEqual([
      [4, 'o4'],
      [5, 'o5'],
      [6, 'o6'],
    ])
  })

  it('combined view: a lagging follower skips only the lines both streams dropped', async () => {
    const log = new OutputLog({ maxBytes: 6 })
    log.push(ev('E0', 'stderr')) // output id 0
    const it = log.follow('output')[Symbol.asyncIterator]()
    expect((await it.next()).value).toMatchObject({ id: 0 })
    log.push(ev('E1', 'stderr')) // 1
    for (let i = 0; i < 4; i++) log.push(ev(`o${i}`)) // 2..5; o0 and o1 dropped
    log.push(ev('E2', 'stderr')) // 6; E0 dropped
    log.end()
    const rest: [number, string][] = []
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push([r.value.id, r.value.event.line])
    expect(rest).toEqual([
      [1, 'E1'],
      [4, 'o2'],
      [5, 'o3'],
      [6, 'E2'],
    ])
    expect(log.snapshot('output')).toMatchObject({ dropped: 3 })
  })

  it('serves many concurrent followers of every view', async () => {
    const log = new OutputLog()
    const views: LogView[] = ['stdout', 'stderr', 'output']
    const fs = Array.from({ length: 300 }, (_, k) => collect(log, views[k % 3]))
    for (let i = 0; i < 200; i++) {
      log.push(ev(`l${i}`, i % 2 === 0 ? 'stdout' : 'stderr'))
      if (i % 7 === 0) await settle()
    }
    log.end()
    await Promise.all(fs.map((f) => f.done))
    for (const [k, f] of fs.entries()) {
      const view = views[k % 3]
      const n = view === 'output' ? 200 : 100
      expect(ids(f.entries)).toEqual([...Array(n).keys()])
      if (view !== 'output') expect(f.entries.every((e) => e.event.stream === view)).toBe(true)
    }
  })

  it('does not wake or register anything before iteration starts', async () => {
    const log = new OutputLog()
    const iterable = log.follow('stdout')
    log.push(ev('a'))
    log.end()
    const got: string[] = []
    for await (const e of iterable) got.push(e.event.line)
    expect(got).toEqual(['a'])
  })
})

describe('OutputLog: head and tail (headBytes)', () => {
  // Each line costs its length + 1: 'lN' with N < 10 costs 3.
  const filled = (): OutputLog => {
    const log = new OutputLog({ maxBytes: 6, headBytes: 6 })
    for (let i = 0; i < 9; i++) log.push(ev(`l${i}`, i === 4 ? 'stderr' : 'stdout'))
    log.end()
    return log
  }

  it('keeps the first lines and the last ones; truncated_after marks the gap', () => {
    const log = filled()
    // stdout has 8 lines (l4 went to stderr): 2 in the head, 2 in the tail, 4 dropped.
    expect(log.snapshot('stdout')).toMatchObject({ dropped: 4, truncatedAfter: 1 })
    expect(log.snapshot('stdout').lines.map((e) => e.line)).toEqual(['l0', 'l1', 'l7', 'l8'])
    expect(log.snapshot('stderr')).toEqual({ lines: [expect.objectContaining({ line: 'l4' })], dropped: 0 })
    const out = log.snapshot('output')
    expect(out.lines.map((e) => e.line)).toEqual(['l0', 'l1', 'l4', 'l7', 'l8'])
    expect(out).toMatchObject({ dropped: 4, truncatedAfter: 2 })
  })

  it('follows over the gap: ids jump, nothing in it is replayed', async () => {
    const log = filled()
    const f = collect(log, 'stdout')
    await f.done
    expect(lines(f.entries)).toEqual(['l0', 'l1', 'l7', 'l8'])
    expect(ids(f.entries)).toEqual([0, 1, 6, 7])
    const o = collect(log, 'output', 1)
    await o.done
    expect(lines(o.entries)).toEqual(['l4', 'l7', 'l8'])
  })

  it('without a head the gap needs no marker, and release() empties the head too', () => {
    const tail = new OutputLog({ maxBytes: 6 })
    for (let i = 0; i < 9; i++) tail.push(ev(`l${i}`))
    expect(tail.snapshot('stdout')).toEqual({
      lines: [expect.objectContaining({ line: 'l7' }), expect.objectContaining({ line: 'l8' })],
      dropped: 7,
    })
    const log = filled()
    log.release()
    expect(log.snapshot('stdout')).toEqual({ lines: [], dropped: 8 })
    expect(log.bytes).toBe(0)
  })
})
