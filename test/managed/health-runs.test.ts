/**
 * Health checks of real runs (docs/protocol.md "Managed processes": "Health"): passing
 * http and tcp checks, and an unhealthy run that is killed as a tree (a descendant
 * that left its process group holds the port) and restarted on the same port.
 */
import { createServer, type AddressInfo } from 'node:net'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

import type { Supervisor } from '../../src/supervisor.js'
import { useSupervisor } from '../helpers/fixture.js'
import { next, record, untilStatus } from '../helpers/managed.js'
import { isDead, untilDead } from '../helpers/system.js'

let sup: Supervisor
let dir: string
useSupervisor((s, d) => ((sup = s as Supervisor), (dir = d)), { killGrace: 500 })

const SERVER = path.join(import.meta.dirname, '../fixtures/managed/port-server.mjs')

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise((resolve) => s.close(resolve))
  return port
}

// Probes from the start, and enough failures allowed for node to start listening.
const probing = { initial_delay_ms: 0, interval_ms: 20, timeout_ms: 500, failure_threshold: 1000 }

describe('a passing check', () => {
  for (const type of ['http', 'tcp'] as const) {
    it(`${type}: starting, then healthy, with zero failures`, async () => {
      const port = await freePort()
      const m = sup.start({
        command: process.execPath,
        args: [SERVER, String(port), path.join(dir, `count-${type}`), '0'],
        name: `ok-${type}`,
        health_check: { type, port, ...probing },
      })
      const [first] = await next(m, 'health')
      expect(first).toMatchObject({ previous: 'starting', health_status: 'healthy', consecutive_health_failures: 0 })
      expect(m.managedInfo()).toMatchObject({
        health_status: 'healthy',
        consecutive_health_failures: 0,
        status: 'running',
      })
      await m.stop()
      // Keeps the last run's verdict once stopped.
      expect(m.managedInfo().health_status).toBe('healthy')
    })
  }
})

describe('an unhealthy run', () => {
  it('is killed as a tree and restarted on the same port, which it can bind at once', async () => {
    const port = await freePort()
    const m = sup.start({
      command: process.execPath,
      // Run 1 answers 500; run 2 answers 200.
      args: [SERVER, String(port), path.join(dir, 'count-unhealthy'), '1'],
      name: 'flaky',
      restart: { initial_backoff_ms: 20 },
      // The first probe once node listens (it answers 500), then two more failures.
      health_check: { type: 'http', port, ...probing, initial_delay_ms: 1500, failure_threshold: 3 },
    })
    const events = record(m)
    const lines: string[] = []
    m.on('output', (ev) => lines.push(ev.line))
    const exit = next(m, 'exit')
    await next(m, 'health', (c) => c.health_status === 'healthy')
    const [, , end] = await exit
    expect(end).toEqual({ failure: true, ended_by: 'unhealthy' })
    const unhealthy = events.find((e) => e.name === 'health')?.args[0]
    expect(unhealthy).toMatchObject({ health_status: 'unhealthy', consecutive_health_failures: 3 })
    expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['listening 1', 'listening 2'])
    // The descendant that left the process group was in the run's cgroup: gone before run 2 bound the port.
    const holder = Number(lines[0].split(' ')[2])
    expect(isDead(holder)).toBe(true)
    const line2 = { line: lines[1] }
    expect(m.managedInfo()).toMatchObject({
      status: 'running',
      restart_count: 1,
      health_status: 'healthy',
      consecutive_health_failures: 0,
    })
    const healths = events
      .filter((e) => e.name === 'health')
      .map((e) => (e.args[0] as { health_status: string }).health_status)
    expect(healths).toEqual(['unhealthy', 'starting', 'healthy'])
    const holder2 = Number(line2.line.split(' ')[2])
    await m.stop()
    await untilDead(holder2)
    expect(isDead(holder)).toBe(true)
    await untilStatus(m, 'stopped')
  })
})
