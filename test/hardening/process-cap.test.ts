/**
 * The process cap counts launches in flight (docs/bounds.md): a burst of requests whose
 * bodies complete together, before the first spawn is reported back, cannot overshoot
 * `maxProcesses`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import { burst, requestText } from '../helpers/raw-http.js'
import { startServer, TOKEN, type TestServer } from '../helpers/server.js'

const CAP = 256
const BURST = 300

let s: TestServer

beforeEach(async () => {
  s = await startServer({ maxProcesses: CAP })
})
afterEach(async () => {
  await s.close()
})

/** Resolves once the server has received `count` requests (their headers). */
function received(count: number): Promise<void> {
  let seen = 0
  return new Promise((resolve) => {
    const onRequest = (): void => {
      if (++seen < count) return
      s.server.off('request', onRequest)
      resolve()
    }
    s.server.on('request', onRequest)
  })
}

async function burstOf(path: string, body: object): Promise<Record<number, number>> {
  const text = JSON.stringify(body)
  const request = requestText(
    'POST',
    `/api/v1${path}`,
    { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    text,
  )
  const r = await burst(s.url, request, BURST, received(BURST))
  try {
    const counts: Record<number, number> = {}
    r.statuses.forEach((status, i) => {
      counts[status] = (counts[status] ?? 0) + 1
      if (status === 429) expect(r.bodies[i]).toContain('"code":"TOO_MANY_PROCESSES"')
    })
    return counts
  } finally {
    r.close()
  }
}

describe('maxProcesses under a burst', () => {
  it(`${BURST} concurrent POST /processes with cap ${CAP}: exactly ${CAP} are 201, the rest 429`, async () => {
    expect(await burstOf('/processes', { command: 'sleep', args: ['60'] })).toEqual({ 201: CAP, 429: BURST - CAP })
  })

  it(`${BURST} concurrent runs with cap ${CAP}: exactly ${CAP} are 200, the rest 429`, async () => {
    expect(await burstOf('/processes/run', { command: 'sleep', args: ['60'] })).toEqual({ 200: CAP, 429: BURST - CAP })
  })

  it(`${BURST} concurrent managed starts with cap ${CAP}: exactly ${CAP} are 201`, async () => {
    const body = { command: 'sleep', args: ['60'], restart: { policy: 'never' } }
    expect(await burstOf('/processes', body)).toEqual({ 201: CAP, 429: BURST - CAP })
  })
})
