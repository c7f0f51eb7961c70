/** The public Supervisor: start() of a managed request, managed(name), get/list, names. */
import { describe, expect, it } from 'vitest'

import { SupervisedProcess } from '../../src/core/process.js'
import { ManagedProcess } from '../../src/managed/process.js'
import type { Supervisor } from '../../src/supervisor.js'
import { useSupervisor } from '../helpers/fixture.js'
import { untilStatus } from '../helpers/managed.js'

let sup: Supervisor
useSupervisor((s) => (sup = s as Supervisor))

describe('start()', () => {
  it('returns a ManagedProcess for a managed request and a SupervisedProcess otherwise', async () => {
    const m = sup.start({ command: 'sleep', args: ['1000'], name: 'a' })
    const p = sup.start({ command: 'true' })
    expect(m).toBeInstanceOf(ManagedProcess)
    expect(p).toBeInstanceOf(SupervisedProcess)
    await m.started
    expect(sup.managed('a')).toBe(m)
    expect(sup.managedOf(m.current)).toBe(m)
    expect(sup.get(m.current.pid)?.managed?.name).toBe('a')
    await p.exited
    expect(sup.get(p.pid)?.managed).toBeUndefined()
    await m.stop()
  })

  it('validates the managed fields with a TypeError naming the field, before anything runs', () => {
    const total = sup.total
    expect(() => sup.start({ command: 'true', name: 'x', restart: { policy: 'sometimes' as never } })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringContaining('restart.policy') }),
    )
    expect(() => sup.start({ command: 'true', name: 'a/b' })).toThrow(TypeError)
    expect(sup.total).toBe(total)
  })

  it('throws NAME_IN_USE for a live holder and replaces a stopped one', async () => {
    const first = sup.start({ command: 'sleep', args: ['1000'], name: 'held' })
    await first.started
    expect(() => sup.start({ command: 'true', name: 'held' })).toThrow(expect.objectContaining({ code: 'NAME_IN_USE' }))
    await first.stop()
    const second = sup.start({ command: 'sleep', args: ['1000'], name: 'held' })
    expect(sup.managed('held')).toBe(second)
    // The replaced holder's runs still know it.
    expect(sup.managedOf(first.current)).toBe(first)
    expect(sup.get(first.current.pid)?.managed?.status).toBe('stopped')
    await second.started
    await second.stop()
  })
})

describe('list()', () => {
  it('lists each managed process once, as its current run', async () => {
    const m = sup.start({
      command: 'sh',
      args: ['-c', 'exit 1'],
      name: 'crashy',
      restart: { initial_backoff_ms: 0, max_restarts: 4 },
    })
    await untilStatus(m, 'stopped')
    const mine = sup.list().filter((p) => p.managed?.name === 'crashy')
    expect(mine).toHaveLength(1)
    expect(mine[0].pid).toBe(m.info().pid)
  })
})
