/**
 * Every child's pidfd and output pipes are watched through one epoll of the addon's
 * (native/fd_watch.cc): one epoll_ctl to add each fd and one to remove it, where a
 * uv_poll per fd cost six; a paused pipe leaves it, so its hang-up cannot wake the loop.
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

import { binding } from '../../src/native.js'
import { spawnDirect } from '../helpers/spawn.js'

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const LOOP = path.join(ROOT, 'test', 'fixtures', 'native', 'spawn-loop.ts')
const hasStrace = spawnSync('strace', ['-V']).status === 0

/** epoll_ctl calls of a Node process that runs `n` processes (strace -c). */
function epollCtls(n: number): number {
  const r = spawnSync(
    'strace',
    ['-f', '-c', '-e', 'trace=epoll_ctl', process.execPath, '--import', 'tsx', LOOP, `${n}`],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  )
  expect(r.status).toBe(0)
  const row = r.stderr.split('\n').find((l) => l.trim().endsWith(' epoll_ctl'))
  return Number(row?.trim().split(/\s+/)[3] ?? 0)
}

describe('one epoll for pidfds and pipes', () => {
  it.runIf(hasStrace)('a process with two pipes costs about six epoll_ctl calls, not eighteen', () => {
    const perSpawn = (epollCtls(70) - epollCtls(10)) / 60
    expect(perSpawn).toBeGreaterThan(0)
    // Six for its three fds, and a little of the Node process's own besides.
    expect(perSpawn).toBeLessThan(8)
  })

  it('a paused pipe whose writer is gone leaves the loop idle, and its end comes after the resume', async () => {
    const { spawned, exit } = await spawnDirect({
      command: 'true',
      candidates: ['/bin/true'],
      argv: ['true'],
      envp: [],
      stdio: [0, 1, 0],
    })
    let ended = false
    let resolveEnd!: () => void
    const end = new Promise<void>((resolve) => (resolveEnd = resolve))
    const reader = new binding.PipeReader(
      spawned.fds[1],
      () => {},
      () => {
        ended = true
        resolveEnd()
      },
    )
    reader.pause()
    await exit
    // The pipe has hung up; paused, it must not be reported on every turn.
    const start = performance.eventLoopUtilization()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(performance.eventLoopUtilization(start).utilization).toBeLessThan(0.5)
    expect(ended).toBe(false)
    reader.resume()
    await end
  })
})
