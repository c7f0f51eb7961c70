/**
 * The limit fields around the kernel: validation of pids_limit / cpu_limit (library:
 * INVALID_REQUEST; HTTP in test/server/limits.test.ts), supervisor defaults, capabilities, and ENOTSUP with
 * syscall 'cgroup' for a controller the machine cannot use (turned off for real, or
 * missing in fixture trees of both cgroup versions).
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { detectControllers } from '../../src/cgroup/controllers.js'
import type { Layout } from '../../src/cgroup/detect.js'
import { CgroupManager, type CgroupError, type FsKind } from '../../src/cgroup/index.js'
import { Supervisor } from '../../src/supervisor.js'
import { collect, spawnError } from '../helpers/events.js'
import { listTree, mountLine, useTrees } from '../fixtures/cgroupfs/tree.js'

const BAD_PIDS: unknown[] = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '64', true, {}, 2 ** 22 + 1]
const BAD_CPU: unknown[] = [0, -0.5, Number.NaN, Number.POSITIVE_INFINITY, '0.5', false, [], 0.001, 1e6]

describe('validation', () => {
  const sup = new Supervisor({ cgroup: false, watchdog: false })
  afterAll(() => sup.close())

  it.each([...BAD_PIDS.map((v) => ['pids_limit', v] as const), ...BAD_CPU.map((v) => ['cpu_limit', v] as const)])(
    '%s %s is INVALID_REQUEST naming the field',
    (field, value) => {
      for (const kind of ['run', 'start'] as const) {
        let err: (TypeError & { code?: string }) | null = null
        try {
          sup[kind]({ command: 'true', [field]: value } as never)
        } catch (e) {
          err = e as TypeError & { code?: string }
        }
        expect(err).toBeInstanceOf(TypeError)
        expect(err?.code).toBe('INVALID_REQUEST')
        expect(err?.message).toContain(field)
      }
    },
  )

  it('null means unset; good values pass validation (then fail for want of cgroups here)', async () => {
    expect(
      (await collect(sup.run({ command: 'true', pids_limit: null, cpu_limit: null } as never))).exit.exit_code,
    ).toBe(0)
    for (const req of [{ pids_limit: 1 }, { pids_limit: 2 ** 22 }, { cpu_limit: 0.01 }, { cpu_limit: 2 }]) {
      expect(await spawnError(sup.run({ command: 'true', ...req }))).toMatchObject({
        code: 'ENOTSUP',
        syscall: 'cgroup',
      })
    }
  })

  it('bad supervisor defaults throw a TypeError naming the option', () => {
    expect(() => new Supervisor({ pidsLimit: 0, cgroup: false, watchdog: false })).toThrow(/pidsLimit/)
    expect(() => new Supervisor({ cpuLimit: Number.NaN, cgroup: false, watchdog: false })).toThrow(/cpuLimit/)
  })
})

describe('defaults and ENOTSUP on this machine', () => {
  it('supervisor defaults apply to every process; a request overrides them', async () => {
    const sup = new Supervisor({ pidsLimit: 32, cpuLimit: 1 })
    try {
      const plain = (await collect(sup.run({ command: 'true' }))).exit
      expect(plain.pids_limit_hits).toBe(0)
      expect(plain.usage?.cpu_throttled_ms).toBeTypeOf('number')
      const low = (await collect(sup.run({ command: 'sh', args: ['-c', 'true & wait'], pids_limit: 1 }))).exit
      expect(low.pids_limit_hits).toBeGreaterThan(0)
    } finally {
      await sup.close()
    }
  })

  it('a controller turned off: capabilities say why, its limit fails with ENOTSUP, others still run', async () => {
    const sup = new Supervisor({ cgroup: { hierarchies: { pids: false, cpu: false } } })
    try {
      expect(sup.capabilities.controllers.pids).toEqual({ usable: false, reason: expect.stringContaining('pids') })
      expect(sup.capabilities.controllers.cpu).toEqual({ usable: false, reason: expect.stringContaining('cpu') })
      for (const field of ['pids_limit', 'cpu_limit']) {
        const err = await spawnError(sup.run({ command: 'true', [field]: 4 }))
        expect(err).toMatchObject({ code: 'ENOTSUP', errno: -95, syscall: 'cgroup' })
        expect(err.message).toContain(field)
      }
      expect((await collect(sup.run({ command: 'true', memory_limit: '64M' }))).exit.exit_code).toBe(0)
    } finally {
      await sup.close()
    }
  })

  it('without cgroups at all (cgroup: false), ENOTSUP too', async () => {
    const sup = new Supervisor({ cgroup: false, watchdog: false })
    try {
      expect(sup.capabilities.controllers.pids.usable).toBe(false)
      expect(await spawnError(sup.run({ command: 'true', cpu_limit: 0.5 }))).toMatchObject({
        code: 'ENOTSUP',
        syscall: 'cgroup',
      })
    } finally {
      await sup.close()
    }
  })
})

describe('detection on fixture trees', () => {
  const tree = useTrees()
  const memoryFiles = {
    'memory/svc/memory.limit_in_bytes': '9223372036854771712\n',
    'memory/svc/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
  }
  const v1 = (root: string, mounts: string[], self: string) => ({
    root,
    fsType: (p: string): FsKind => (p === root ? 'tmpfs' : 'missing'),
    mountinfo: mounts.join('\n'),
    selfCgroup: self,
  })

  function enotsup(m: CgroupManager, opts: { pidsLimit?: number; cpuLimit?: number }): CgroupError | null {
    try {
      m.acquire(opts)
    } catch (e) {
      return e as CgroupError
    }
    return null
  }

  it('v1 with memory only: pids and cpu unusable with the reason; their limits ENOTSUP; nothing left', async () => {
    const root = tree(memoryFiles)
    const before = listTree(root)
    const m = CgroupManager.detect(
      v1(root, [mountLine(35, '/', `${root}/memory`, 'cgroup', 'rw,memory')], '4:memory:/svc\n'),
    )
    expect(m.capabilities.cgroup).toBe('v1')
    expect(m.capabilities.controllers).toEqual({
      memory: { usable: true },
      pids: { usable: false, reason: 'no pids controller is mounted (no v1 pids hierarchy)' },
      cpu: { usable: false, reason: 'no cpu controller is mounted (no v1 cpu hierarchy)' },
      freezer: { usable: false, reason: 'no freezer controller is mounted (no v1 freezer hierarchy)' },
    })
    expect(enotsup(m, { pidsLimit: 8 })).toMatchObject({ code: 'ENOTSUP', errno: -95, syscall: 'cgroup' })
    expect(enotsup(m, { cpuLimit: 0.5 })).toMatchObject({ code: 'ENOTSUP', errno: -95, syscall: 'cgroup' })
    await m.close()
    expect(listTree(root)).toEqual(before)
  })

  it('v1 with a pids mount whose cgroups lack pids.max, and cpu co-mounted with memory but without its files', async () => {
    const root = tree({ ...memoryFiles, 'pids/svc/cgroup.procs': '' })
    const before = listTree(root)
    const mounts = [
      mountLine(35, '/', `${root}/memory`, 'cgroup', 'rw,memory,cpu'),
      mountLine(36, '/', `${root}/pids`, 'cgroup', 'rw,pids'),
    ]
    const m = CgroupManager.detect(v1(root, mounts, '8:pids:/svc\n4:memory,cpu:/svc\n'))
    expect(m.capabilities.controllers.pids).toEqual({
      usable: false,
      reason: expect.stringMatching(new RegExp(`^${root}/pids/svc/sandproc/s\\d+-[0-9a-f]{8} has no pids.max`)),
    })
    expect(m.capabilities.controllers.cpu).toEqual({ usable: false, reason: `${m.dir} has no cpu.cfs_quota_us` })
    await m.close()
    expect(listTree(root)).toEqual(before)
  })

  it('v1 pids hierarchy given as a missing parent: unusable, naming it', async () => {
    const root = tree({ ...memoryFiles, 'pids/svc/cgroup.procs': '' })
    const mounts = [
      mountLine(35, '/', `${root}/memory`, 'cgroup', 'rw,memory'),
      mountLine(36, '/', `${root}/pids`, 'cgroup', 'rw,pids'),
    ]
    const m = CgroupManager.detect({
      ...v1(root, mounts, '8:pids:/svc\n4:memory:/svc\n'),
      hierarchies: { pids: `${root}/pids/nope` },
    })
    expect(m.capabilities.controllers.pids).toEqual({ usable: false, reason: `${root}/pids/nope does not exist` })
    await m.close()
  })

  it('v2: a controller not delegated is unusable with the reason; another is enabled down the chain', () => {
    const root = tree({
      'parent/cgroup.controllers': 'cpu memory\n',
      'parent/cgroup.subtree_control': 'memory\n',
      'parent/dir/cgroup.controllers': 'cpu memory\n',
      'parent/dir/cgroup.subtree_control': 'memory\n',
    })
    const layout: Layout = { mode: 'v2', hierarchy: 'unified', mountPoint: root, ownDir: root }
    const setup = {
      mode: 'v2' as const,
      dir: `${root}/parent/dir`,
      parent: `${root}/parent`,
      parentIsDefault: false,
      placement: 'parent' as const,
    }
    const found = detectControllers(layout, setup, {})
    expect(found.states.pids).toEqual({
      usable: false,
      reason: expect.stringContaining(`pids controller is not available in ${root}/parent`),
    })
    expect(found.states.cpu).toEqual({ usable: true })
    expect([...found.inline]).toEqual(['cpu'])
    // Plain files keep the last write, as cgroupfs would show the enabled controller.
    expect(fs.readFileSync(path.join(root, 'parent/cgroup.subtree_control'), 'utf8')).toBe('+cpu')
    expect(fs.readFileSync(path.join(root, 'parent/dir/cgroup.subtree_control'), 'utf8')).toBe('+cpu')
  })
})
