/**
 * The bound on spawns in flight (src/core/admission.ts): a burst launched in one loop
 * holds join fds for at most the admitted spawns, every launch still runs in order, and
 * a launch admitted later that cannot be prepared fails as any spawn failure does.
 */
import { afterAll, describe, expect, it } from 'vitest'

import { Admission } from '../../src/core/admission.js'
import { Supervisor } from '../../src/supervisor.js'
import { openFds } from '../helpers/system.js'

describe('Admission', () => {
  it('admits up to its limit, then runs the waiting ones in order as slots free', () => {
    const a = new Admission(2)
    const ran: number[] = []
    const later = (i: number) => () => (ran.push(i), true)
    expect(a.enter(later(1))).toBe(true)
    expect(a.enter(later(2))).toBe(true)
    expect(a.enter(later(3))).toBe(false)
    expect(a.enter(later(4))).toBe(false)
    a.leave()
    expect(ran).toEqual([3])
    a.leave()
    a.leave()
    expect(ran).toEqual([3, 4])
  })

  it('gives the slot of a launch that failed at once to the next one, without recursion', () => {
    const a = new Admission(1)
    expect(a.enter(() => true)).toBe(true)
    let ok = 0
    for (let i = 0; i < 100_000; i++) a.enter(() => false)
    a.enter(() => (ok++, true))
    a.leave()
    expect(ok).toBe(1)
    // The one that succeeded holds the only slot.
    expect(a.enter(() => true)).toBe(false)
  })
})

describe('a burst through the supervisor', () => {
  const sup = new Supervisor()
  afterAll(() => sup.close())

  it('holds fds for the spawns in flight only, and runs every launch', async () => {
    expect(sup.capabilities.cgroup).not.toBeNull()
    const before = openFds().length
    const procs = Array.from({ length: 1000 }, () => sup.run({ command: 'true' }))
    // No spawn has been reported back yet (that takes a turn of the loop), so every
    // admitted one still holds its cgroup's join fds: without the bound, 2 or 3 each.
    const held = openFds().length - before
    expect(held).toBeLessThan(1000)
    const exits = await Promise.all(procs.map((p) => p.exited))
    expect(exits.every((e) => e.exit_code === 0)).toBe(true)
  })

  it('reports a launch that waited and then could not be prepared as a spawn failure', async () => {
    const ahead = Array.from({ length: 300 }, () => sup.run({ command: 'true' }))
    const bad = sup.run({ command: 'true', user: 'no-such-user-sandproc' })
    const after = sup.run({ command: 'true' })
    await expect(bad.started).rejects.toMatchObject({ code: 'USER_NOT_FOUND' })
    expect((await after.exited).exit_code).toBe(0)
    await Promise.all(ahead.map((p) => p.exited))
  })
})
