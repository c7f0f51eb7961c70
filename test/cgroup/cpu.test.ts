/**
 * cpu_limit for real (v1 here, where cpu is a hierarchy of its own; v2 in the VM): a
 * busy loop (four threads) under a quarter of a CPU gets about that much, measured from its own rusage
 * over at least 2 s of its own wall time, and reports the time it was throttled; one
 * without a limit reports no throttling figure at all.
 */
import { describe, expect, it } from 'vitest'

import type { Supervisor } from '../../src/supervisor.js'
import type { ExitEvent } from '../../src/types.js'
import { collect } from '../helpers/events.js'
import { useSupervisor } from '../helpers/fixture.js'
import { compileFixture } from '../fixtures/cgroup/compile.js'

let sup: Supervisor
useSupervisor((s) => (sup = s))

/** CPU time over wall time of a finished process. */
function share(exit: ExitEvent): number {
  const u = exit.usage!
  return (u.user_cpu_ms + u.system_cpu_ms) / u.wall_ms
}

describe('cpu_limit', () => {
  it('the cpu controller is usable here', () => {
    expect(sup.capabilities.controllers.cpu).toEqual({ usable: true })
  })

  it('a busy loop under cpu_limit 0.25 gets about a quarter of a CPU and reports throttling', async () => {
    // Four spinning threads ask for far more than the quota even when the machine is
    // crowded (a single one got 11% of a CPU and never reached its quota on a load of 16).
    const { exit } = await collect(sup.run({ command: compileFixture('busy'), args: ['2.5', '4'], cpu_limit: 0.25 }))
    expect(exit.exit_code).toBe(0)
    expect(exit.usage!.wall_ms).toBeGreaterThanOrEqual(2000)
    // The quota caps the tree at 25 ms per 100 ms period; a crowded machine may give it
    // less. The tolerance allows one unthrottled first period and rusage granularity.
    const got = share(exit)
    console.info(
      `busy loop under cpu_limit 0.25: cpu/wall ${got.toFixed(3)}, throttled ${exit.usage!.cpu_throttled_ms} ms of ${exit.usage!.wall_ms} ms`,
    )
    // (Unlimited, four threads would take both cores: a share of up to 2.)
    expect(got).toBeLessThan(0.4)
    expect(got).toBeGreaterThan(0.05)
    expect(exit.usage!.cpu_throttled_ms).toBeGreaterThan(0)
  })

  it('a busy loop without a limit reports no throttled time', async () => {
    const { exit } = await collect(sup.run({ command: compileFixture('busy'), args: ['0.3'] }))
    expect(exit.exit_code).toBe(0)
    expect(exit.usage).not.toHaveProperty('cpu_throttled_ms')
  })

  it('a limit of 2 CPUs on a single-threaded loop throttles nothing', async () => {
    const { exit } = await collect(sup.run({ command: compileFixture('busy'), args: ['0.3'], cpu_limit: 2 }))
    expect(exit.exit_code).toBe(0)
    expect(exit.usage!.cpu_throttled_ms).toBe(0)
  })
})
