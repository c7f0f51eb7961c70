/**
 * The child is born in (or joins, before execve) its own cgroup: on v2 through clone3
 * with CLONE_INTO_CGROUP, on v1 by writing "0" to `tasks` (cgroup.procs as the
 * fallback). Runs here (v1) and in the VM (v2, test/vm/run-v2.sh), each asserting its
 * own path.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { CgroupManager } from '../../src/cgroup/index.js'
import { Supervisor } from '../../src/supervisor.js'
import type { NativeCgroupJoin } from '../../src/native.js'
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

  it('uses clone3 with CLONE_INTO_CGROUP on v2 and tasks, then cgroup.procs, on v1', async () => {
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
        cgroupJoins: [cg.join],
        cgroupDirFd: cg.dirFd,
      })
      if (mgr.capabilities.cgroup === 'v1') {
        expect(cg.join).toEqual({ fd: cg.tasksFd, fallbackFd: cg.procsFd, path: cg.path })
        expect(fs.fstatSync(cg.tasksFd).ino).toBe(fs.statSync(path.join(cg.path, 'tasks')).ino)
      } else {
        expect(cg.join).toEqual({ fd: cg.procsFd, path: cg.path })
      }
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

/** Runs `cat /proc/self/cgroup` with these joins (no clone3) and returns its lines. */
async function cgroupLinesWith(joins: NativeCgroupJoin[]): Promise<string[]> {
  const out = fs.mkdtempSync('/var/tmp/sandproc-join-')
  const file = path.join(out, 'cgroup')
  try {
    const { exit } = await spawnDirect({
      command: 'sh',
      candidates: ['/bin/sh'],
      argv: ['sh', '-c', `cat /proc/self/cgroup > ${file}`],
      envp: [],
      stdio: [0, 0, 0],
      cgroupJoins: joins,
    })
    expect((await exit)[0]).toBe(0)
    return fs.readFileSync(file, 'utf8').split('\n')
  } finally {
    fs.rmSync(out, { recursive: true, force: true })
  }
}

describe('joining through the fds the spawn is given', () => {
  const mgr = CgroupManager.detect({ poolSize: 0 })
  afterAll(() => mgr.close())
  const rel = (dir: string) => dir.slice(dir.indexOf('/', '/sys/fs/cgroup/'.length))
  const inCgroup = (lines: string[], dir: string) =>
    lines.some((l) =>
      l.endsWith(`:${mgr.capabilities.cgroup === 'v2' ? dir.slice('/sys/fs/cgroup'.length) : rel(dir)}`),
    )

  it('writes "0" to the first fd and leaves the fallback alone when that works', async () => {
    const cg = mgr.acquire()!
    const readOnly = fs.openSync(path.join(cg.path, 'cgroup.procs'), 'r')
    try {
      // A fallback that cannot be written proves it was not needed.
      const lines = await cgroupLinesWith([{ fd: cg.join.fd, fallbackFd: readOnly, path: cg.path }])
      expect(inCgroup(lines, cg.path)).toBe(true)
    } finally {
      fs.closeSync(readOnly)
      cg.closeJoinFds()
      await cg.release()
    }
  })

  it('falls back to the second fd when writing the first fails', async () => {
    const cg = mgr.acquire()!
    const readOnly = fs.openSync(path.join(cg.path, 'cgroup.procs'), 'r')
    try {
      const lines = await cgroupLinesWith([{ fd: readOnly, fallbackFd: cg.procsFd, path: cg.path }])
      expect(inCgroup(lines, cg.path)).toBe(true)
    } finally {
      fs.closeSync(readOnly)
      cg.closeJoinFds()
      await cg.release()
    }
  })

  it("reports which join failed: syscall cgroup, the errno of the last write, that join's path", async () => {
    const [a, b] = [mgr.acquire()!, mgr.acquire()!]
    const readOnly = fs.openSync(path.join(b.path, 'cgroup.procs'), 'r')
    try {
      const joins = [a.join, { fd: readOnly, fallbackFd: readOnly, path: b.path }]
      const err = await spawnDirect({
        command: 'true',
        candidates: ['/bin/true'],
        argv: ['true'],
        envp: [],
        stdio: [0, 0, 0],
        cgroupJoins: joins,
      }).then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).toMatchObject({ code: 'EBADF', syscall: 'cgroup', path: b.path })
      // Nothing was left running in the cgroup it did join.
      expect(fs.readFileSync(path.join(a.path, 'cgroup.procs'), 'utf8')).toBe('')
    } finally {
      fs.closeSync(readOnly)
      for (const cg of [a, b]) {
        cg.closeJoinFds()
        await cg.release()
      }
    }
  })

  // Only a hybrid or legacy host has a second v1 hierarchy to join (pids here).
  it.runIf(mgr.capabilities.cgroup === 'v1' && fs.existsSync('/sys/fs/cgroup/pids/tasks'))(
    'joins every hierarchy it is given, each through its tasks file',
    async () => {
      const cg = mgr.acquire()!
      const own = fs
        .readFileSync('/proc/self/cgroup', 'utf8')
        .split('\n')
        .find((l) => /:pids:/.test(l))!
      const pidsDir = path.join(
        '/sys/fs/cgroup/pids',
        own.slice(own.lastIndexOf(':') + 1),
        `sandproc-join-${process.pid}`,
      )
      fs.mkdirSync(pidsDir)
      const tasks = fs.openSync(path.join(pidsDir, 'tasks'), 'w')
      const procs = fs.openSync(path.join(pidsDir, 'cgroup.procs'), 'w')
      try {
        const lines = await cgroupLinesWith([cg.join, { fd: tasks, fallbackFd: procs, path: pidsDir }])
        expect(inCgroup(lines, cg.path)).toBe(true)
        expect(lines.find((l) => /:pids:/.test(l))).toMatch(new RegExp(`:${rel(pidsDir)}$`))
      } finally {
        fs.closeSync(tasks)
        fs.closeSync(procs)
        cg.closeJoinFds()
        await cg.release()
        fs.rmdirSync(pidsDir)
      }
    },
  )
})
