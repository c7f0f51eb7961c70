/**
 * Floods through the HTTP server (docs/guarantees.md): `POST /api/v1/processes/run` of
 * a fast writer to a client in another process that keeps stalling until the writer is
 * held back by its full pipe. Every line arrives, in order, and the server's RSS stays
 * bounded; a client that goes away mid-flood gets the process tree killed. The suite
 * runs 200 MB; `npm run soak` runs 1 GB.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { beforeAll, describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/index.js'
import { createServer } from '../../src/server/server.js'
import { serverFlood } from '../../soak/flood.js'
import { alive, compileC, peakRssBytes, resetPeakRss, rssBytes, until } from '../helpers/hardening.js'
import { useSupervisor } from '../helpers/fixture.js'

const MiB = 1024 * 1024
/** The stated bound: growth of the server's peak RSS during the flood. */
const RSS_BOUND = 128 * MiB
/**
 * A started process is not slowed by anyone: its lines are retained, promoted to the old
 * generation and dropped at full speed, so the peak is the garbage collector's lag, about
 * 150 to 210 MiB here whatever the volume (200 MB to 4 GB measured).
 */
const START_RSS_BOUND = 256 * MiB

let flood: string
let sup: Supervisor

beforeAll(() => {
  flood = compileC('flood')
})
useSupervisor((s) => (sup = s))

describe('server flood', () => {
  it('200 MB of 100-byte lines to a client that stalls every 20 MB: all lines in order, RSS bounded', async () => {
    const r = await serverFlood(sup, flood, 200_000_000, 20_000_000)
    expect(r).toMatchObject({
      status: 200,
      lines: 2_000_000,
      expectedLines: 2_000_000,
      inOrder: true,
      exit: { exit_code: 0 },
    })
    expect(r.stalls).toBeGreaterThanOrEqual(8)
    expect(r.peakGrowthBytes).toBeLessThan(RSS_BOUND)
  })

  it('200 MB of 64 KiB lines to a client that stalls every 20 MB: all lines in order, RSS bounded', async () => {
    const r = await serverFlood(sup, flood, 200_000_000, 20_000_000, 65537)
    expect(r).toMatchObject({ status: 200, lines: r.expectedLines, inOrder: true, exit: { exit_code: 0 } })
    expect(r.stalls).toBeGreaterThanOrEqual(8)
    expect(r.peakGrowthBytes).toBeLessThan(RSS_BOUND)
  })

  it('a client that goes away mid-flood: the process is killed, the server keeps serving', async () => {
    const token = 'flood-token'
    const server = createServer({ supervisor: sup, token })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    try {
      const pid = await new Promise<number>((resolve, reject) => {
        const req = http.request(`http://127.0.0.1:${port}/api/v1/processes/run`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}` },
        })
        req.on('error', () => undefined)
        req.on('response', (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (d: string) => {
            text += d
            const m = /"pid":(\d+)/.exec(text)
            if (m !== null && text.length > 1_000_000) {
              // Gone, with the writer still writing.
              req.destroy()
              resolve(Number(m[1]))
            }
          })
          res.on('error', () => undefined)
          res.on('end', () => reject(new Error('the stream ended before the client left')))
        })
        req.end(JSON.stringify({ command: flood, args: ['lines', String(10_000_000_000), '100'] }))
      })
      const proc = sup.process(pid)
      if (proc === undefined) throw new Error('unknown pid')
      expect(await proc.exited).toMatchObject({ signal: 9 })
      await until(() => !alive(pid))
      const health = await fetch(`http://127.0.0.1:${port}/api/v1/health`, {
        headers: { Authorization: `Bearer ${token}` },
      })
      expect(await health.json()).toEqual({ healthy: true })
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('a started process writing 500 MB: retained output stays within its bound, the rest counted as dropped', async () => {
    const token = 'retain-token'
    const server = createServer({ supervisor: sup, token })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const api = (path: string, init: RequestInit = {}): Promise<Response> =>
      fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
        ...init,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      })
    try {
      const before = rssBytes()
      resetPeakRss()
      const res = await api('/processes', {
        method: 'POST',
        body: JSON.stringify({ command: flood, args: ['lines', '500000000', '100'] }),
      })
      expect(res.status).toBe(201)
      const { pid } = (await res.json()) as { pid: number }
      const proc = sup.process(pid)
      if (proc === undefined) throw new Error('unknown pid')
      expect(await proc.exited).toMatchObject({ exit_code: 0 })
      const snap = (await (await api(`/processes/${pid}/stdout`)).json()) as {
        lines: string[]
        line_count: number
        dropped: number
        truncated_after: number
      }
      // 5,000,000 lines written; the default 1 MiB head and 8 MiB tail per stream are kept,
      // in order, and what fell between them is counted.
      const numberAt = (i: number): number => Number(snap.lines[i].slice(0, 10))
      expect(snap.line_count + snap.dropped).toBe(5_000_000)
      expect(snap.dropped).toBeGreaterThan(4_000_000)
      expect(snap.lines.at(-1)).toBe(
        `${String(4_999_999).padStart(10, '0')}${String.fromCharCode(97 + (4_999_999 % 26)).repeat(89)}`,
      )
      expect(numberAt(0)).toBe(0)
      expect(numberAt(snap.truncated_after)).toBe(snap.truncated_after)
      expect(numberAt(snap.truncated_after + 1)).toBe(snap.truncated_after + 1 + snap.dropped)
      expect(peakRssBytes() - before).toBeLessThan(START_RSS_BOUND)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
