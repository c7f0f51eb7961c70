/**
 * The cgroup work no spawn waits for (the pool's refill, a lone process's rmdir) stays
 * off every spawn's path (docs/performance.md): never between a clone and its hand-back,
 * and, while one process runs alone, its refill waits for its exit or the next spawn.
 */
import * as fs from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { CgroupManager } from '../../src/cgroup/index.js'
import { Supervisor } from '../../src/index.js'

const managers: CgroupManager[] = []
const supervisors: Supervisor[] = []
afterEach(async () => {
  await Promise.all([...managers.splice(0).map((m) => m.close()), ...supervisors.splice(0).map((s) => s.close())])
})

/** Lets `n` turns of the event loop pass (each setImmediate queued before runs first). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** The per-process cgroups (pooled or held) in a supervisor's directory. */
function cgroupsIn(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
}

async function manager(): Promise<CgroupManager> {
  const m = CgroupManager.detect()
  managers.push(m)
  expect(m.dir).not.toBeNull()
  await m.prepared()
  return m
}

describe('cgroup housekeeping', () => {
  it('no refill while a spawn is not handed back, nor while its process runs alone; both after its exit', async () => {
    const m = await manager()
    const pooled = cgroupsIn(m.dir!).length
    const cg = m.acquire()!
    await turns(3)
    expect(cgroupsIn(m.dir!)).toHaveLength(pooled)
    cg.closeJoinFds()
    await turns(3)
    expect(cgroupsIn(m.dir!)).toHaveLength(pooled)
    await cg.release()
    // Refilled and removed: the pool is whole and the process's cgroup gone.
    expect(cgroupsIn(m.dir!)).toHaveLength(pooled)
    expect(fs.existsSync(cg.path)).toBe(false)
  })

  it('spawning again at once: the last cgroup goes after the next hand-back, not before it', async () => {
    const m = await manager()
    const first = m.acquire()!
    first.closeJoinFds()
    const gone = first.release()
    const next = m.acquire()!
    // A spawn on this thread is handed back on the next turn.
    await turns(2)
    expect(fs.existsSync(first.path)).toBe(true)
    next.closeJoinFds()
    await gone
    expect(fs.existsSync(first.path)).toBe(false)
    await next.release()
  })

  it('through the supervisor: the pool is refilled once a lone process exits', async () => {
    const sup = new Supervisor()
    supervisors.push(sup)
    await sup.ready()
    const dir = sup.capabilities.dir!
    const before = cgroupsIn(dir)
    const p = sup.start({ command: 'sleep', args: ['1000'] })
    await p.started
    await turns(3)
    expect(cgroupsIn(dir)).toEqual(before)
    p.kill()
    await p.exited
    await turns(3)
    // One made for the pool, beside the four it had (the process's own goes too, below).
    const after = cgroupsIn(dir)
    expect(after.filter((name) => !before.includes(name))).toHaveLength(1)
  })
})
