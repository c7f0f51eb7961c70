/**
 * Cleanup of the limit cgroups in every hierarchy (on v1 here: memory, pids and cpu are
 * three): none left after 500 mixed runs, none after close(), and none after the
 * supervisor is killed (its watchdog sweeps them all).
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/supervisor.js'
import type { RunRequest } from '../../src/types.js'
import { alive, FIXTURES, supervisorCgroupDirs, until } from '../helpers/hardening.js'

/** Process cgroups (`p<N>`) under this supervisor's directory in the pids and cpu hierarchies (and memory). */
function processCgroups(): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[]
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue
      const full = path.join(dir, e.name)
      if (e.name.startsWith(`s${process.pid}-`))
        out[full] = fs
          .readdirSync(full, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name)
      else if (depth < 6) walk(full, depth + 1)
    }
  }
  walk('/sys/fs/cgroup', 0)
  return out
}

/** The machine's mode by statfs alone; this machine's v1 has pids and cpu apart from memory. */
const V1 = fs.statfsSync('/sys/fs/cgroup').type !== 0x63677270

function isLimitHierarchy(dir: string): boolean {
  return dir.startsWith('/sys/fs/cgroup/pids/') || dir.startsWith('/sys/fs/cgroup/cpu/')
}

const KINDS: RunRequest[] = [
  { command: 'true' },
  { command: 'true', pids_limit: 16 },
  { command: 'sh', args: ['-c', 'true & wait'], cpu_limit: 0.5 },
  { command: 'sh', args: ['-c', 'true & true & wait'], pids_limit: 2, cpu_limit: 1, memory_limit: '64M' },
  { command: 'sandproc-no-such-program', pids_limit: 8, cpu_limit: 0.5 },
  { command: 'sh', args: ['-c', 'sleep 100 & sleep 100'], pids_limit: 8, timeout: 0.01 },
]

// The v2 VM is several times slower than this machine (a node start-up there takes
// seconds): a generous bound, not a measurement.
describe('cleanup in every hierarchy', { timeout: 300_000 }, () => {
  it('500 mixed runs leave no process cgroup behind, close() leaves no directory', async () => {
    const sup = new Supervisor()
    const ends: string[] = []
    const one = async (i: number): Promise<void> => {
      const p = sup.run(KINDS[i % KINDS.length])
      ends.push(
        await p.exited.then(
          (e) => (e.timed_out ? 'timeout' : `exit ${e.exit_code ?? e.signal}`),
          (err: { code: string }) => err.code,
        ),
      )
    }
    for (let i = 0; i < 500; i += 5) await Promise.all([0, 1, 2, 3, 4].map((k) => one(i + k)))
    expect(ends.filter((e) => e === 'ENOENT')).toHaveLength(Math.ceil((500 - 4) / KINDS.length))
    expect(ends.filter((e) => e === 'timeout').length).toBeGreaterThan(70)
    // Removal follows the exit event: wait for it. The memory directory keeps its pool.
    // Each directory keeps only its pool: up to 4 prepared cgroups that never held a process.
    const settled = ([d, kids]: [string, string[]]): boolean =>
      kids.length <= 4 && kids.every((k) => fs.readFileSync(path.join(d, k, 'cgroup.procs'), 'utf8') === '')
    await until(() => Object.entries(processCgroups()).every(settled))
    const left = Object.entries(processCgroups())
    expect(left.filter(([d]) => isLimitHierarchy(d))).toHaveLength(V1 ? 2 : 0)
    expect(left.filter((e) => !settled(e))).toEqual([])
    await sup.close()
    expect(supervisorCgroupDirs(process.pid)).toBe(0)
  })

  it('a killed supervisor: its watchdog kills the trees and removes the cgroups of every hierarchy', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(FIXTURES, '..', 'cgroup', 'killed-limited.ts'), '4'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const info = await new Promise<{ pid: number; children: number[]; cgroups: string[] }>((resolve) => {
      let text = ''
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString()
        if (text.includes('\n')) resolve(JSON.parse(text.slice(0, text.indexOf('\n'))))
      })
    })
    try {
      expect(info.children).toHaveLength(8)
      // v1: a cgroup in each of memory, pids and cpu per process; v2: one.
      expect(info.cgroups).toHaveLength(V1 ? 12 : 4)
      for (const d of info.cgroups) expect(fs.existsSync(d)).toBe(true)
      process.kill(info.pid, 'SIGKILL')
      await new Promise((resolve) => child.once('exit', resolve))
      await until(() => info.children.every((pid) => !alive(pid)))
      await until(() => supervisorCgroupDirs(info.pid) === 0)
      expect(info.cgroups.filter((d) => fs.existsSync(d))).toEqual([])
    } finally {
      for (const pid of info.children) if (alive(pid)) process.kill(pid, 'SIGKILL')
      // The shared default parents (<own>/sandproc) are for the last supervisor that
      // leaves to remove, which the watchdog is not; a parent still in use stays (EBUSY).
      for (const d of info.cgroups) {
        try {
          fs.rmdirSync(path.dirname(path.dirname(d)))
        } catch {
          // In use by another supervisor, or gone.
        }
      }
    }
  })
})
