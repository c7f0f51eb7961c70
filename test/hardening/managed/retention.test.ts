/**
 * Stopped managed processes under the retention bounds (docs/bounds.md): they count among
 * the ended processes kept (`maxExited`, 1024), oldest forgotten first, and their output
 * counts inside the total output bound (`retainTotalBytes`), oldest released first.
 */
import { describe, expect, it } from 'vitest'

import { Supervisor } from '../../../src/supervisor.js'
import type { ManagedProcess } from '../../../src/managed/process.js'

function stopped(m: ManagedProcess): Promise<void> {
  if (m.status === 'stopped') return Promise.resolve()
  return new Promise((resolve) => m.on('status', ({ status }) => status === 'stopped' && resolve()))
}

describe('stopped managed processes', () => {
  it('1,100 stopped managed processes: at most 1,024 ended ones listed, the oldest forgotten', async () => {
    const sup = new Supervisor()
    try {
      const all: ManagedProcess[] = []
      for (let i = 0; i < 1100; i++) {
        all.push(sup.start({ command: 'true', name: `m${i}`, restart: { policy: 'never' } }))
        // In waves, so that the machine is not asked for 1,100 processes at once.
        if (all.length % 100 === 0) await Promise.all(all.slice(-100).map(stopped))
      }
      await Promise.all(all.map(stopped))
      expect(sup.list().length).toBeLessThanOrEqual(1024)
      expect(sup.managed('m0')).toBeUndefined()
      expect(sup.managed('m1099')).toBe(all[1099])
      expect(sup.managedProcesses().length).toBeLessThanOrEqual(1024)
    } finally {
      await sup.close()
    }
  })

  it('their output counts inside the total bound: the oldest stopped process releases its output first', async () => {
    const MB = 1_000_000
    const sup = new Supervisor({ retainTotalBytes: 4 * MB })
    try {
      const all: ManagedProcess[] = []
      for (let i = 0; i < 8; i++) {
        // 1 MB of 100-byte lines, then the end: stopped (policy never).
        const m = sup.start({
          command: 'sh',
          args: [
            '-c',
            'yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -n 10000',
          ],
          name: `out${i}`,
          restart: { policy: 'never' },
        })
        await stopped(m)
        all.push(m)
      }
      const total = all.reduce((sum, m) => sum + m.log.bytes, 0)
      expect(total).toBeLessThanOrEqual(4 * MB)
      expect(all[0].log.bytes).toBe(0)
      expect(all[7].log.bytes).toBeGreaterThan(MB)
      expect(all[0].log.snapshot('stdout').dropped).toBe(10_000)
    } finally {
      await sup.close()
    }
  })

  it('a stopped process that is restarted no longer counts: it is never forgotten while it runs', async () => {
    const sup = new Supervisor({ maxExited: 2 })
    try {
      const keep = sup.start({ command: 'sleep', args: ['60'], name: 'keep', restart: { policy: 'never' } })
      await keep.started
      await keep.stop()
      await keep.restart()
      for (let i = 0; i < 4; i++)
        await stopped(sup.start({ command: 'true', name: `other${i}`, restart: { policy: 'never' } }))
      expect(keep.status).toBe('running')
      expect(sup.managed('keep')).toBe(keep)
      expect(sup.managed('other0')).toBeUndefined()
    } finally {
      await sup.close()
    }
  })
})
