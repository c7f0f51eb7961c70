/**
 * The child is born in (or joins, before execve) its own cgroup: on v2 through clone3
 * with CLONE_INTO_CGROUP, on v1 by writing to cgroup.procs. Runs here (v1) and in the
 * VM (v2, test/vm/run-v2.sh), each asserting its own path.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { CgroupManager } from '../../src/cgroup/manager.js'
import { Supervisor } from '../../src/core/supervisor.js'
import { spawnDirect } from '../helpers/spawn.js'

const sup = new Supervisor()
afterAll(() => sup.close())

describe('cgroup placement', () => {
  it('runs every process in a cgroup of its own, below the supervisor directory', async () => {
    const seen: string[] = []
    for (let i = 0; i < 3; i++) {
      const p = sup.run({ command: 'cat', args: ['/proc/self/cgroup'] })
      const lines: string[] = []
      p.on('output', (e) => lines.push(e.line))
      expect((await p.exited).exit_code).toBe(0)
      // v2: "0::/path"; v1 hybrid: the memory controller's line.
      const line = lines.find((l) => (sup.capabilities.cgroup === 'v2' ? l.startsWith('0::') : /:memory:/.test(l)))
      expect(line).toBeDefined()
      const cg = line!.slice(line!.lastIndexOf(':') + 1)
      expect(path.basename(path.dirname(cg))).toMatch(new RegExp(`^s${process.pid}-`))
      seen.push(cg)
    }
    expect(new Set(seen).size).toBe(3)
  })

  it('uses clone3 with CLONE_INTO_CGROUP on v2 and cgroup.procs on v1', async () => {
    const mgr = CgroupManager.detect({ poolSize: 0 })
    try {
      const cg = mgr.acquire()!
      expect(cg).not.toBeNull()
      const { spawned, exit } = await spawnDirect({
        command: 'true',
        candidates: ['/bin/true'],
        argv: ['true'],
        envp: [],
        stdio: [0, 0, 0],
        cgroupProcsFd: cg.procsFd,
        cgroupDirFd: cg.dirFd,
      })
      cg.closeJoinFds()
      expect(spawned.clone3).toBe(mgr.capabilities.cgroup === 'v2')
      expect((await exit)[0]).toBe(0)
      expect(fs.existsSync(cg.path)).toBe(true)
      await cg.release()
      expect(fs.existsSync(cg.path)).toBe(false)
    } finally {
      await mgr.close()
    }
  })
})
