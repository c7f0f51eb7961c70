/** The health checker of one run: one probe at a time, the threshold, and stop(). */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { HealthChecker, type ProbeReport } from '../../src/managed/health.js'

let silent: Server
let open = 0
let maxOpen = 0
const held = new Set<Socket>()
let silentPort = 0

beforeAll(async () => {
  silent = createServer((socket) => {
    held.add(socket)
    // Read (and drop) what comes, so that the client's close is seen.
    socket.resume()
    maxOpen = Math.max(maxOpen, ++open)
    socket.on('close', () => {
      held.delete(socket)
      open--
    })
  })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  silentPort = (silent.address() as AddressInfo).port
})

afterAll(async () => {
  for (const s of held) s.destroy()
  await new Promise((r) => silent.close(r))
})

const check = (over: Partial<ConstructorParameters<typeof HealthChecker>[0]>) => ({
  type: 'http' as const,
  port: silentPort,
  path: '/',
  initial_delay_ms: 0,
  interval_ms: 1,
  timeout_ms: 20,
  failure_threshold: 1000,
  ...over,
})

function reports(n: number, c: ReturnType<typeof check>): Promise<{ got: ProbeReport[]; checker: HealthChecker }> {
  return new Promise((resolve) => {
    const got: ProbeReport[] = []
    const checker: HealthChecker = new HealthChecker(c, (r) => {
      got.push(r)
      if (got.length === n) resolve({ got, checker })
    })
  })
}

describe('HealthChecker', () => {
  it('never has two probes at once, even when each one times out', async () => {
    maxOpen = 0
    const { got, checker } = await reports(10, check({}))
    await checker.stop()
    expect(got.every((r) => r.result.reason === 'timeout')).toBe(true)
    expect(got.map((r) => r.failures)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(maxOpen).toBe(1)
  })

  it('says unhealthy at the threshold and probes no more', async () => {
    const { got } = await reports(3, check({ failure_threshold: 3, type: 'tcp', port: 1 }))
    expect(got.map((r) => r.verdict)).toEqual([null, null, 'unhealthy'])
    // A probe after the verdict would be a fourth report; none may come past the interval.
    const more: ProbeReport[] = []
    got.push = ((...r: ProbeReport[]) => more.push(...r)) as never
    await new Promise((r) => setTimeout(r, 20))
    expect(more).toEqual([])
  })

  it('says healthy on the first pass and zeroes the failures', async () => {
    const { got, checker } = await reports(1, check({ type: 'tcp' }))
    await checker.stop()
    expect(got[0]).toMatchObject({ verdict: 'healthy', failures: 0, result: { ok: true } })
  })

  it('stop() aborts a probe in flight and reports nothing more', async () => {
    const got: ProbeReport[] = []
    const checker = new HealthChecker(check({ timeout_ms: 60_000 }), (r) => got.push(r))
    while (held.size === 0) await new Promise((r) => setImmediate(r))
    await checker.stop()
    expect(got).toEqual([])
    while (held.size > 0) await new Promise((r) => setImmediate(r))
  })
})
