/**
 * The watchdog's table of process groups (src/core/watchdog.ts): without cgroups a spawn
 * tells it of the new group through a slot of memory they share, not a pipe write; a
 * freed slot is used again, a cleared one is not killed, and past the table's end the
 * pipe carries the records as before.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

import { Watchdog } from '../../src/core/watchdog.js'
import { binding } from '../../src/native.js'

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const LOOP = path.join(ROOT, 'test', 'fixtures', 'native', 'spawn-loop.ts')
const hasStrace = spawnSync('strace', ['-V']).status === 0

/** A `sleep` leading a process group of its own (its pid is the group's id). */
function group(): ChildProcess {
  return spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' })
}

/** How a group's leader ended. */
async function endOf(p: ChildProcess): Promise<NodeJS.Signals | null> {
  if (p.exitCode === null && p.signalCode === null) await once(p, 'exit')
  return p.signalCode
}

/** 4-byte writes (the pipe's records) of a Node process that runs `n` processes without cgroups. */
function recordWrites(n: number): number {
  const r = spawnSync('strace', ['-f', '-e', 'trace=write', process.execPath, '--import', 'tsx', LOOP, `${n}`], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  expect(r.status).toBe(0)
  return r.stderr.split('\n').filter((l) => /^(\[pid\s+\d+\] )?write\(\d+, .*, 4\)\s+= 4$/.test(l)).length
}

describe('the watchdog without cgroups', () => {
  it.runIf(hasStrace)('a spawn writes nothing to it (two pipe records per spawn before)', () => {
    const perSpawn = (recordWrites(40) - recordWrites(10)) / 30
    expect(perSpawn).toBeLessThan(0.5)
  })

  it('kills the groups in its table and past it, and not the ones forgotten', async () => {
    const w = Watchdog.start(binding, [], 2)
    expect(w).not.toBeNull()
    const [a, b, c, d, e] = Array.from({ length: 5 }, group)
    await Promise.all([a, b, c, d, e].map((p) => once(p, 'spawn')))
    try {
      w!.watch(a.pid!)
      w!.watch(b.pid!)
      w!.forget(b.pid!)
      // b's slot is taken by c; the table is full, so d and e go through the pipe.
      w!.watch(c.pid!)
      w!.watch(d.pid!)
      w!.watch(e.pid!)
      w!.forget(e.pid!)
      await w!.close()
      expect(await Promise.all([a, c, d].map(endOf))).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL'])
      // Not signalled by it: the first signal they get is ours.
      for (const p of [b, e]) p.kill('SIGTERM')
      expect(await Promise.all([b, e].map(endOf))).toEqual(['SIGTERM', 'SIGTERM'])
    } finally {
      for (const p of [a, b, c, d, e]) p.kill('SIGKILL')
    }
  })
})
