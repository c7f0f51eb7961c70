/**
 * Exact endings over HTTP (docs/endings.md): `reason` in exit frames and ProcessInfo,
 * timeout_grace, merged output, base64 bytes through run, snapshots and follows, head and
 * tail of 100 MB, max_output_bytes and Idempotency-Key.
 */
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { ProcessInfo } from '../../src/types.js'
import { dataOf, json, readSse, startServer, type TestServer } from '../helpers/server.js'
import { rmTemp, tempDir } from '../helpers/system.js'

let t: TestServer
let dir: string
beforeAll(async () => {
  t = await startServer()
  dir = tempDir()
})
afterAll(async () => {
  await t.close()
  rmTemp(dir)
})

const post = (p: string, body: unknown, headers: Record<string, string> = {}) =>
  t.api(p, { method: 'POST', body, headers })
type Frame = Record<string, unknown>
const runFrames = async (body: unknown): Promise<Frame[]> =>
  dataOf((await readSse(await post('/processes/run', body))).messages) as Frame[]

/** Waits for the process to end through the server's own supervisor (an event, not a poll). */
async function ended(pid: number): Promise<ProcessInfo> {
  await t.sup.process(pid)?.exited
  return (await json(await t.api(`/processes/${pid}`))) as unknown as ProcessInfo
}

/** Bytes `seq 1 n` prints. */
function seqBytes(n: number): number {
  let total = 0
  for (let digits = 1, lo = 1; lo <= n; digits++, lo *= 10) total += (Math.min(n, lo * 10 - 1) - lo + 1) * (digits + 1)
  return total
}

describe('reason over HTTP', () => {
  it('is in the exit frame and in ProcessInfo', async () => {
    const frames = await runFrames({ command: 'sh', args: ['-c', 'exit 2'] })
    expect(frames.at(-1)).toMatchObject({ exit_code: 2, reason: 'exited' })
    const pid = (frames[0] as { pid: number }).pid
    expect(await ended(pid)).toMatchObject({ status: 'exited', reason: 'exited' })
  })

  it('timeout_grace: SIGTERM first, the frame has 15 and timed_out', async () => {
    const frames = await runFrames({
      command: 'sh',
      args: ['-c', 'sleep 100 & wait'],
      timeout: 0.2,
      timeout_grace: 600,
    })
    expect(frames.at(-1)).toMatchObject({ signal: 15, timed_out: true, reason: 'timed_out' })
  })

  it('a run whose client disconnects is killed by client_gone', async () => {
    const ac = new AbortController()
    const res = await t.api('/processes/run', {
      method: 'POST',
      body: { command: 'sh', args: ['-c', 'echo up; exec sleep 100'] },
      signal: ac.signal,
    })
    const got = await readSse(res, (r) => r.messages.length >= 2)
    const pid = (dataOf(got.messages)[0] as { pid: number }).pid
    ac.abort()
    expect(await ended(pid)).toMatchObject({
      status: 'signaled',
      signal: 9,
      reason: 'killed',
      killed_by: 'client_gone',
    })
  })

  it('DELETE is killed by api', async () => {
    const { pid } = (await json(
      await post('/processes', { command: 'sleep', args: ['100'] }),
    )) as unknown as ProcessInfo
    expect((await t.api(`/processes/${pid}`, { method: 'DELETE' })).status).toBe(204)
    expect(await ended(pid)).toMatchObject({ status: 'signaled', reason: 'killed', killed_by: 'api' })
  })

  it('idle_timeout ends a quiet run', async () => {
    const frames = await runFrames({ command: 'sleep', args: ['100'], idle_timeout: 0.2 })
    expect(frames.at(-1)).toMatchObject({ signal: 9, reason: 'idle_timeout' })
    expect(frames.at(-1)).not.toHaveProperty('timed_out')
  })

  it.each([
    ['timeout_grace', -1],
    ['idle_timeout', 0],
    ['output_encoding', 'latin1'],
    ['max_output_bytes', 'many'],
  ])('%s = %j is 400 INVALID_REQUEST naming it', async (field, value) => {
    for (const p of ['/processes/run', '/processes']) {
      const res = await post(p, { command: 'true', [field]: value })
      expect(res.status).toBe(400)
      const body = await json(res)
      expect(body.code).toBe('INVALID_REQUEST')
      expect(body.error).toContain(field)
      if (field === 'max_output_bytes') break // `run` only
    }
  })
})

describe('stderr_mode "stdout" over HTTP', () => {
  it('run: one stream in written order, tagged stdout', async () => {
    const frames = await runFrames({
      command: 'sh',
      args: ['-c', 'echo a; echo b >&2; echo c; echo d >&2'],
      stderr_mode: 'stdout',
    })
    const out = frames.filter((f) => 'line' in f)
    expect(out.map((f) => f.line)).toEqual(['a', 'b', 'c', 'd'])
    expect(out.every((f) => f.stream === 'stdout')).toBe(true)
  })
})

describe('output_encoding "base64" over HTTP', () => {
  const bytes = Buffer.concat([randomBytes(200_000), Buffer.from([0x0a, 0, 0, 0xfe, 0xff, 0xc3])])
  let file: string
  beforeAll(() => {
    file = path.join(dir, 'random')
    fs.writeFileSync(file, bytes)
  })
  const joined = (items: Frame[]): Buffer => Buffer.concat(items.map((f) => Buffer.from(f.data as string, 'base64')))

  it('run: data frames carry the exact bytes', async () => {
    const frames = await runFrames({ command: 'cat', args: [file], output_encoding: 'base64' })
    const chunks = frames.filter((f) => 'data' in f)
    expect(chunks.every((f) => f.stream === 'stdout' && typeof f.timestamp === 'number')).toBe(true)
    expect(joined(chunks).equals(bytes)).toBe(true)
  })

  it('snapshots (chunks) and follows (data, id = chunk index) of a started process', async () => {
    const { pid } = (await json(
      await post('/processes', { command: 'cat', args: [file], output_encoding: 'base64' }),
    )) as unknown as ProcessInfo
    await ended(pid)
    for (const view of ['stdout', 'output']) {
      const snap = await json(await t.api(`/processes/${pid}/${view}`))
      const chunks = snap.chunks as string[]
      expect(snap.chunk_count).toBe(chunks.length)
      expect(Buffer.concat(chunks.map((c) => Buffer.from(c, 'base64'))).equals(bytes)).toBe(true)
      const follow = await readSse(await t.api(`/processes/${pid}/${view}/follow`))
      const out = follow.messages.filter((m) => m.event === 'output')
      expect(out.map((m) => m.id)).toEqual(chunks.map((_c, i) => String(i)))
      expect(joined(dataOf(out) as Frame[]).equals(bytes)).toBe(true)
      expect(follow.messages.at(-1)?.event).toBe('eof')
    }
  })
})

describe('100 MB of output', () => {
  const N = 12_500_000

  it('a started process keeps its head and its tail, and counts the gap', async () => {
    const { pid } = (await json(
      await post('/processes', { command: 'seq', args: ['1', String(N)] }),
    )) as unknown as ProcessInfo
    await ended(pid)
    for (const view of ['stdout', 'output']) {
      const snap = await json(await t.api(`/processes/${pid}/${view}`))
      const lines = snap.lines as string[]
      const cut = snap.truncated_after as number
      expect(cut).toBeGreaterThan(1000)
      // The head is 1, 2, ...; the tail runs without a gap to N.
      expect(lines.slice(0, cut + 1)).toEqual(Array.from({ length: cut + 1 }, (_v, i) => String(i + 1)))
      const tail = lines.slice(cut + 1)
      expect(tail.length).toBeGreaterThan(1000)
      expect(tail).toEqual(Array.from({ length: tail.length }, (_v, i) => String(N - tail.length + 1 + i)))
      expect(snap.dropped).toBe(N - lines.length)
    }
  })

  it('run with max_output_bytes: the first half live, the last half before the exit, the counts right', async () => {
    const max = 1 << 20
    const frames = await runFrames({ command: 'seq', args: ['1', String(N)], max_output_bytes: max })
    const exit = frames.at(-1) as Frame
    expect(exit).toMatchObject({ exit_code: 0, reason: 'exited', truncated: true })
    const dropIdx = frames.findIndex((f) => 'dropped_lines' in f)
    const live = frames.slice(1, dropIdx).map((f) => f.line as string)
    const dropped = frames[dropIdx]
    const tail = frames.slice(dropIdx + 1, -1).map((f) => f.line as string)
    const size = (ls: string[]): number => ls.reduce((n, l) => n + l.length + 1, 0)
    expect(live).toEqual(Array.from({ length: live.length }, (_v, i) => String(i + 1)))
    expect(tail).toEqual(Array.from({ length: tail.length }, (_v, i) => String(N - tail.length + 1 + i)))
    // Whole lines, as many as fit in each half.
    expect(size(live)).toBeLessThanOrEqual(max / 2)
    expect(size(live) + String(live.length + 1).length + 1).toBeGreaterThan(max / 2)
    expect(size(tail)).toBeLessThanOrEqual(max / 2)
    expect(size(tail) + String(N - tail.length).length + 1).toBeGreaterThan(max / 2)
    expect(dropped).toEqual({
      dropped_lines: N - live.length - tail.length,
      dropped_bytes: seqBytes(N) - size(live) - size(tail),
      stream: 'stdout',
    })
  })

  it('run with max_output_bytes larger than the output: nothing dropped, no truncated', async () => {
    const frames = await runFrames({ command: 'seq', args: ['1', '1000'], max_output_bytes: 1 << 20 })
    expect(frames.filter((f) => 'line' in f)).toHaveLength(1000)
    expect(frames.at(-1)).not.toHaveProperty('truncated')
  })
})

describe('Idempotency-Key', () => {
  const body = { command: 'sleep', args: ['100'] }

  it('20 concurrent requests with one key start exactly one process', async () => {
    const before = t.sup.total
    const key = `k-${randomBytes(8).toString('hex')}`
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post('/processes', body, { 'idempotency-key': key })),
    )
    const statuses = answers.map((r) => r.status).sort()
    expect(statuses).toEqual([200, ...Array(18).fill(200), 201].sort())
    const pids = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as ProcessInfo).pid)))
    expect(pids.size).toBe(1)
    expect(t.sup.total - before).toBe(1)
    // Later too, with the same body: 200 and the same pid; another body: 409.
    const again = await post('/processes', body, { 'idempotency-key': key })
    expect(again.status).toBe(200)
    expect(((await again.json()) as ProcessInfo).pid).toBe([...pids][0])
    const other = await post('/processes', { command: 'sleep', args: ['99'] }, { 'idempotency-key': key })
    expect(other.status).toBe(409)
    expect((await json(other)).code).toBe('IDEMPOTENCY_CONFLICT')
    await t.api(`/processes/${[...pids][0]}`, { method: 'DELETE' })
  })

  it('a bad key is 400 INVALID_REQUEST naming the header', async () => {
    for (const key of ['has space', 'x'.repeat(256)]) {
      const res = await post('/processes', body, { 'idempotency-key': key })
      expect(res.status).toBe(400)
      expect((await json(res)).error).toContain('Idempotency-Key')
    }
  })

  it('a failed start is not remembered: a retry may start it', async () => {
    const key = `f-${randomBytes(8).toString('hex')}`
    const bad = { command: path.join(dir, 'missing') }
    expect((await post('/processes', bad, { 'idempotency-key': key })).status).toBe(422)
    fs.writeFileSync(bad.command, '#!/bin/sh\nexit 0\n', { mode: 0o755 })
    expect((await post('/processes', bad, { 'idempotency-key': key })).status).toBe(201)
  })
})
