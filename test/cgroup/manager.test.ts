/**
 * The cgroup layer against this machine's real cgroups (v1 here, v2 in the VM through
 * test/vm/run-v2.sh), plus fixture trees for what no kernel produces on demand.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { CgroupManager, parseMemoryLimit, type CgroupError } from '../../src/cgroup/index.js'
import { detectLayout, parseMountinfo, type FsKind } from '../../src/cgroup/detect.js'
import { CgroupUnavailable } from '../../src/cgroup/errors.js'
import { ProcessCgroup } from '../../src/cgroup/process.js'
import { listTree, makeTree, mountLine, useTrees } from '../fixtures/cgroupfs/tree.js'

const MiB = 2 ** 20
const REPO = fileURLToPath(new URL('../..', import.meta.url))
const MODULE_URL = pathToFileURL(path.join(REPO, 'src/cgroup/manager.ts')).href
/** The machine's mode by statfs alone, independently of the code under test. */
const MODE = fs.statfsSync('/sys/fs/cgroup').type === 0x63677270 ? 'v2' : 'v1'
/** Allocates and touches up to 1 GiB, then exits 3: a failed limit never sets off the host's OOM killer. */
const HOG = 'const a = []; for (let i = 0; i < 64; i++) a.push(Buffer.alloc(16 << 20, 1)); process.exit(3)'

type Exit = { code: number | null; signal: NodeJS.Signals | null }

/** A spawned process that has joined `cg` the way the native spawn will: `"0"` to `procsFd`, then exec. */
interface Joined {
  child: ChildProcess
  exited: Promise<Exit>
  /** stdout lines after the join. */
  lines: AsyncIterator<string>
}

async function spawnIn(cg: ProcessCgroup, argv: string[]): Promise<Joined> {
  const script = 'echo 0 >&3 && exec 3>&- && echo joined && exec "$@"'
  const child = spawn('sh', ['-c', script, 'sh', ...argv], { stdio: ['ignore', 'pipe', 'ignore', cg.procsFd] })
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }) as Exit)
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const first = await lines.next()
  if (first.value !== 'joined') throw new Error(`child did not join ${cg.path}: ${JSON.stringify(await exited)}`)
  return { child, exited, lines }
}

function readIn(cg: ProcessCgroup, file: string): string {
  return fs.readFileSync(path.join(cg.path, file), 'utf8').trim()
}

/** Whether `fd` has O_CLOEXEC, from /proc/self/fdinfo (flags are octal). */
function cloexec(fd: number): boolean {
  const flags = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))
  return flags !== null && (parseInt(flags[1], 8) & 0o2000000) !== 0
}

/** Gone, or a zombie waiting for whoever adopted it: either way not running. */
function notRunning(pid: number): boolean {
  try {
    return fs
      .readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .startsWith('Z')
  } catch {
    return true
  }
}

/** Runs a node snippet (with tsx, so it can import the TS source) and returns its stdout. */
function nodeScript(code: string, opts: { uid?: number; gid?: number } = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: REPO,
    env: { ...process.env, CGROUP_MODULE: MODULE_URL },
    stdio: ['pipe', 'pipe', 'inherit'],
    ...opts,
  })
}

async function stdoutOf(child: ChildProcess): Promise<string> {
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  await once(child, 'exit')
  return out
}

describe(`real cgroups on this machine (${MODE})`, () => {
  let mgr: CgroupManager
  beforeAll(() => {
    mgr = CgroupManager.detect()
  })
  afterAll(async () => {
    const dir = mgr.dir
    await mgr.close()
    expect(dir !== null && fs.existsSync(dir)).toBe(false)
  })

  it('detects the memory hierarchy and makes its own directory under <own>/sandproc', () => {
    expect(mgr.capabilities).toEqual({
      cgroup: MODE,
      oomDetection: true,
      controllers: expect.objectContaining({ memory: { usable: true } }),
      dir: mgr.dir,
      placement: 'own',
    })
    const dir = mgr.dir!
    expect(path.basename(dir)).toMatch(/^s\d+-[0-9a-f]{8}$/)
    expect(path.basename(path.dirname(dir))).toBe('sandproc')
    expect(fs.statSync(dir).isDirectory()).toBe(true)
  })

  it('acquire writes the limit and opens the join fds', async () => {
    const cg = mgr.acquire({ memoryLimit: 64 * MiB })!
    expect(cg.memoryLimit).toBe(64 * MiB)
    expect(fs.fstatSync(cg.procsFd).ino).toBe(fs.statSync(path.join(cg.path, 'cgroup.procs')).ino)
    for (const fd of MODE === 'v2' ? [cg.procsFd, cg.dirFd] : [cg.procsFd, cg.tasksFd]) expect(cloexec(fd)).toBe(true)
    if (MODE === 'v2') {
      expect([readIn(cg, 'memory.max'), readIn(cg, 'memory.swap.max'), readIn(cg, 'memory.oom.group')]).toEqual([
        String(64 * MiB),
        '0',
        '1',
      ])
      expect(fs.fstatSync(cg.dirFd).ino).toBe(fs.statSync(cg.path).ino)
    } else {
      expect([readIn(cg, 'memory.limit_in_bytes'), readIn(cg, 'memory.memsw.limit_in_bytes')]).toEqual([
        String(64 * MiB),
        String(64 * MiB),
      ])
      expect(cg.dirFd).toBe(-1)
      expect(fs.fstatSync(cg.tasksFd).ino).toBe(fs.statSync(path.join(cg.path, 'tasks')).ino)
    }
    expect(cg.readCounters()).toEqual({ oomKills: 0, memoryPeak: 0 })
    await cg.release()
    expect(fs.existsSync(cg.path)).toBe(false)
  })

  it('acquire without a limit leaves the kernel default', async () => {
    const cg = mgr.acquire()!
    expect(cg.memoryLimit).toBeNull()
    if (MODE === 'v2') expect(readIn(cg, 'memory.max')).toBe('max')
    else expect(Number(readIn(cg, 'memory.limit_in_bytes'))).toBeGreaterThan(2 ** 60)
    await cg.release()
  })

  it('acquire works from the pool and, with no pool, inline', async () => {
    await mgr.prepared()
    const pooled = mgr.acquire()!
    const inline = CgroupManager.detect({ poolSize: 0 })
    const direct = inline.acquire({ memoryLimit: 32 * MiB })!
    expect(fs.statSync(pooled.path).isDirectory() && fs.statSync(direct.path).isDirectory()).toBe(true)
    expect(path.dirname(direct.path)).toBe(inline.dir)
    await pooled.release()
    await inline.close()
    expect(fs.existsSync(direct.path) || fs.existsSync(inline.dir!)).toBe(false)
  })

  it('a lone process: the refill and the removal run on this thread, no threadpool mkdir or rmdir', async () => {
    const own = CgroupManager.detect()
    await own.prepared()
    const mkdir = vi.spyOn(fs.promises, 'mkdir')
    const rmdir = vi.spyOn(fs.promises, 'rmdir')
    try {
      for (let i = 0; i < 3; i++) {
        const cg = own.acquire()!
        // The refill's turn: the pool is whole again with no mkdir in the background.
        await new Promise((resolve) => setImmediate(resolve))
        await cg.release()
        expect(fs.existsSync(cg.path)).toBe(false)
      }
      expect([mkdir.mock.calls.length, rmdir.mock.calls.length]).toEqual([0, 0])
      // Three running at once: the background path, off this thread.
      const busy = [own.acquire()!, own.acquire()!, own.acquire()!]
      await new Promise((resolve) => setImmediate(resolve))
      await Promise.all(busy.map((cg) => cg.release()))
      expect(mkdir.mock.calls.length).toBeGreaterThan(0)
      expect(rmdir.mock.calls.length).toBeGreaterThan(0)
    } finally {
      mkdir.mockRestore()
      rmdir.mockRestore()
      await own.close()
    }
  })

  it('killAll kills the main process and what it left behind', async () => {
    const cg = mgr.acquire()!
    const { exited, lines } = await spawnIn(cg, ['sh', '-c', 'sleep 1000 & echo $!; exec sleep 1000'])
    const orphan = Number((await lines.next()).value)
    expect(readIn(cg, 'cgroup.procs').split('\n')).toHaveLength(2)
    await cg.killAll()
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' })
    expect(readIn(cg, 'cgroup.procs')).toBe('')
    expect(notRunning(orphan)).toBe(true)
    await cg.release()
  })

  it('a hog past a 64 MiB limit is OOM-killed and oomKills rises by 1', async () => {
    const cg = mgr.acquire({ memoryLimit: 64 * MiB })!
    const { exited } = await spawnIn(cg, [process.execPath, '-e', HOG])
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' })
    await cg.killAll()
    const { oomKills, memoryPeak } = cg.readCounters()
    expect(oomKills).toBe(1)
    expect(memoryPeak).toBeLessThanOrEqual(64 * MiB)
    await cg.release()
  })

  it('a shell whose child is OOM-killed: it survives without oom.group, oomKills 1', async () => {
    const cg = mgr.acquire({ memoryLimit: 64 * MiB, oomGroup: false })!
    const { exited } = await spawnIn(cg, ['sh', '-c', `"$0" -e '${HOG}'; exit 0`, process.execPath])
    expect(await exited).toEqual({ code: 0, signal: null })
    await cg.killAll()
    expect(cg.readCounters().oomKills).toBe(1)
    await cg.release()
  })

  it('with oom.group (v2 default) the shell dies with its child and oomKills counts both', async () => {
    const cg = mgr.acquire({ memoryLimit: 64 * MiB })!
    const { exited } = await spawnIn(cg, ['sh', '-c', `"$0" -e '${HOG}'; exit 0`, process.execPath])
    const exit = await exited
    await cg.killAll()
    const { oomKills } = cg.readCounters()
    // v1 has no group kill: there the shell lives on as above.
    if (MODE === 'v2') expect({ exit, oomKills }).toEqual({ exit: { code: null, signal: 'SIGKILL' }, oomKills: 2 })
    else expect({ exit, oomKills }).toEqual({ exit: { code: 0, signal: null }, oomKills: 1 })
    await cg.release()
  })

  it('memoryPeak of a process touching 100 MiB is within 10% of it', async () => {
    const cg = mgr.acquire()!
    // dd's 100 MiB buffer is the whole of its memory, filled by read(2) from /dev/zero.
    const { exited } = await spawnIn(cg, ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=100M', 'count=1'])
    expect(await exited).toEqual({ code: 0, signal: null })
    await cg.killAll()
    const { oomKills, memoryPeak } = cg.readCounters()
    expect(oomKills).toBe(0)
    expect(Math.abs(memoryPeak! - 100 * MiB)).toBeLessThanOrEqual(10 * MiB)
    await cg.release()
  })

  it('close kills what still runs, removes every cgroup and its directory', async () => {
    const m = CgroupManager.detect()
    const cg = m.acquire({ memoryLimit: 64 * MiB })!
    const { exited } = await spawnIn(cg, ['sleep', '1000'])
    await m.prepared()
    await Promise.all([m.close(), m.close()])
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' })
    expect(fs.existsSync(m.dir!)).toBe(false)
    expect(() => m.acquire()).toThrow(expect.objectContaining({ code: 'ESHUTDOWN', syscall: 'cgroup' }))
  })

  it('without permission to create cgroups, capabilities say why and a limit is refused', async () => {
    // The modules load as root (the checkout may not be readable by nobody, as in a CI
    // clone under a private directory); only then does the script become nobody.
    const child = nodeScript(
      `const { CgroupManager } = await import(process.env.CGROUP_MODULE)
       process.setgroups([65534]); process.setgid(65534); process.setuid(65534)
       const m = CgroupManager.detect()
       let err = null
       try { m.acquire({ memoryLimit: 1 << 26 }) } catch (e) { err = { code: e.code, syscall: e.syscall, errno: e.errno } }
       console.log(JSON.stringify({ caps: m.capabilities, plain: m.acquire(), err }))
       await m.close()`,
    )
    const out = JSON.parse(await stdoutOf(child))
    expect(out).toEqual({
      caps: {
        cgroup: null,
        oomDetection: false,
        reason: expect.stringContaining('EACCES'),
        controllers: expect.anything(),
      },
      plain: null,
      err: { code: 'ENOTSUP', syscall: 'cgroup', errno: -95 },
    })
  })
})

describe.skipIf(MODE !== 'v2')('cgroup v2 "no internal processes" dance (real, in the VM)', () => {
  // Starts a helper child first: a supervisor's children inherit its cgroup and must move with it.
  const DANCER = `process.stdout.write('ready\\n')
    process.stdin.once('data', async () => {
      const { readFileSync } = await import('node:fs')
      const { spawn } = await import('node:child_process')
      const helper = spawn('sleep', ['1000'], { stdio: 'ignore' })
      const { CgroupManager } = await import(process.env.CGROUP_MODULE)
      const m = CgroupManager.detect()
      let limit = null
      if (m.capabilities.cgroup) {
        const cg = m.acquire({ memoryLimit: 1 << 26 })
        limit = readFileSync(cg.path + '/memory.max', 'utf8').trim()
        await cg.release()
      }
      // A second supervisor in the same process must not nest another leaf.
      const again = CgroupManager.detect()
      const sameParent = again.dir !== null && again.dir.slice(0, again.dir.lastIndexOf('/')) === m.dir?.slice(0, m.dir.lastIndexOf('/'))
      await again.close()
      const cgroupOf = (pid) => readFileSync('/proc/' + pid + '/cgroup', 'utf8').trim()
      const [self, child] = [cgroupOf(process.pid), cgroupOf(helper.pid)]
      helper.kill('SIGKILL')
      await m.close()
      console.log(JSON.stringify({ caps: m.capabilities, self, child, dir: m.dir, limit, sameParent }))
      process.exit(0)
    })`

  /** Runs the dancer as the only process (or beside `sleep`) of a fresh cgroup under the root. */
  async function dance(withNeighbour: boolean): Promise<{ own: string; out: Record<string, unknown> }> {
    const name = `sandproc-dance-${process.pid}-${withNeighbour ? 'b' : 'a'}`
    const own = path.join('/sys/fs/cgroup', name)
    // The shape of a delegated unit: its parent gives it the memory controller, as systemd
    // does (the real root may, though it holds processes).
    fs.writeFileSync('/sys/fs/cgroup/cgroup.subtree_control', '+memory')
    fs.mkdirSync(own)
    const child = nodeScript(DANCER)
    const neighbour = withNeighbour ? spawn('sleep', ['1000'], { stdio: 'ignore' }) : null
    try {
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
      expect((await lines.next()).value).toBe('ready')
      fs.writeFileSync(path.join(own, 'cgroup.procs'), String(child.pid))
      if (neighbour) fs.writeFileSync(path.join(own, 'cgroup.procs'), String(neighbour.pid))
      const exited = once(child, 'exit')
      child.stdin!.end('go\n')
      const out = JSON.parse(String((await lines.next()).value)) as Record<string, unknown>
      await exited
      return { own, out }
    } finally {
      if (neighbour) {
        neighbour.kill('SIGKILL')
        await once(neighbour, 'exit')
      }
      for (const d of [path.join(own, 'supervisor'), own]) if (fs.existsSync(d)) fs.rmdirSync(d)
    }
  }

  it('moves the supervisor and its children into <own>/supervisor, then enables memory', async () => {
    const { own, out } = await dance(false)
    const dir = new RegExp(`^${own}/sandproc/s\\d+-[0-9a-f]{8}$`)
    expect(out).toEqual({
      caps: {
        cgroup: 'v2',
        oomDetection: true,
        controllers: expect.anything(),
        placement: 'own',
        dir: expect.stringMatching(dir),
      },
      self: `0::/${path.basename(own)}/supervisor`,
      child: `0::/${path.basename(own)}/supervisor`,
      dir: expect.stringMatching(dir),
      limit: String(1 << 26),
      sameParent: true,
    })
  })

  it('moves nothing when processes not its own share its cgroup: its cgroups go under the nearest usable ancestor', async () => {
    const { own, out } = await dance(true)
    // The ancestor here is the root: <root>/sandproc-<pid>/, made for this supervisor process.
    const dir = new RegExp(`^/sys/fs/cgroup/sandproc-\\d+/s\\d+-[0-9a-f]{8}$`)
    expect(out).toEqual({
      caps: {
        cgroup: 'v2',
        oomDetection: true,
        controllers: expect.anything(),
        placement: 'ancestor',
        dir: expect.stringMatching(dir),
      },
      self: `0::/${path.basename(own)}`,
      child: `0::/${path.basename(own)}`,
      dir: expect.stringMatching(dir),
      limit: String(1 << 26),
      sameParent: true,
    })
  })
})

describe('mode detection (fixture inputs)', () => {
  const kinds =
    (map: Record<string, FsKind>) =>
    (p: string): FsKind =>
      map[p] ?? 'missing'

  it('unified: the root is cgroup2', () => {
    const layout = detectLayout({
      root: '/cg',
      fsType: kinds({ '/cg': 'cgroup2' }),
      mountinfo: mountLine(30, '/', '/cg', 'cgroup2', 'rw,nsdelegate'),
      selfCgroup: '0::/system.slice/app.service\n',
    })
    expect(layout).toEqual({
      mode: 'v2',
      hierarchy: 'unified',
      mountPoint: '/cg',
      ownDir: '/cg/system.slice/app.service',
    })
  })

  it('hybrid: tmpfs root with cgroup2 at unified, memory on v1', () => {
    const layout = detectLayout({
      root: '/cg',
      fsType: kinds({ '/cg': 'tmpfs', '/cg/unified': 'cgroup2' }),
      mountinfo: [
        mountLine(31, '/', '/cg/cpu', 'cgroup', 'rw,cpu'),
        mountLine(35, '/', '/cg/memory', 'cgroup', 'rw,memory'),
      ].join('\n'),
      selfCgroup: '8:cpu:/\n4:memory:/jobs/7\n0::/\n',
    })
    expect(layout).toEqual({ mode: 'v1', hierarchy: 'hybrid', mountPoint: '/cg/memory', ownDir: '/cg/memory/jobs/7' })
  })

  it('legacy: no cgroup2 beside the v1 hierarchies; memory co-mounted with cpu', () => {
    const layout = detectLayout({
      root: '/cg',
      fsType: kinds({ '/cg': 'tmpfs' }),
      mountinfo: mountLine(35, '/', '/cg/cpu,memory', 'cgroup', 'rw,cpu,memory'),
      selfCgroup: '3:cpu,memory:/a\n',
    })
    expect(layout).toEqual({
      mode: 'v1',
      hierarchy: 'legacy',
      mountPoint: '/cg/cpu,memory',
      ownDir: '/cg/cpu,memory/a',
    })
  })

  it('hybrid whose memory controller was left to cgroup2', () => {
    const root = makeTree({ 'unified/cgroup.controllers': 'cpu io memory pids\n' })
    const layout = detectLayout({
      root,
      fsType: kinds({ [root]: 'tmpfs', [`${root}/unified`]: 'cgroup2' }),
      mountinfo: mountLine(41, '/', `${root}/unified`, 'cgroup2', 'rw'),
      selfCgroup: '0::/u\n',
    })
    expect(layout).toEqual({
      mode: 'v2',
      hierarchy: 'hybrid',
      mountPoint: `${root}/unified`,
      ownDir: `${root}/unified/u`,
    })
    fs.rmSync(root, { recursive: true })
  })

  it('a container mount shows a subtree: the cgroup path is taken relative to the mount root', () => {
    const opts = {
      root: '/cg',
      fsType: kinds({ '/cg': 'tmpfs' }),
      mountinfo: mountLine(35, '/docker/abc', '/cg/memory', 'cgroup', 'rw,memory'),
    }
    expect(detectLayout({ ...opts, selfCgroup: '4:memory:/docker/abc/x\n' }).ownDir).toBe('/cg/memory/x')
    expect(() => detectLayout({ ...opts, selfCgroup: '4:memory:/docker/other\n' })).toThrow(CgroupUnavailable)
  })

  it("a container's own cgroup2 mounted over the host's: the one on top (listed last) is the one paths reach", () => {
    // As unshare --cgroup plus a fresh mount shows it: the host's mount root is above the namespace's.
    const layout = detectLayout({
      root: '/cg',
      fsType: kinds({ '/cg': 'cgroup2' }),
      mountinfo: [mountLine(30, '/..', '/cg', 'cgroup2', 'rw'), mountLine(90, '/', '/cg', 'cgroup2', 'rw')].join('\n'),
      selfCgroup: '0::/\n',
    })
    expect(layout).toEqual({ mode: 'v2', hierarchy: 'unified', mountPoint: '/cg', ownDir: '/cg' })
  })

  it('no memory controller, no cgroup filesystem, or no root: CgroupUnavailable', () => {
    const selfCgroup = '0::/\n'
    expect(() => detectLayout({ root: '/cg', fsType: kinds({ '/cg': 'tmpfs' }), mountinfo: '', selfCgroup })).toThrow(
      CgroupUnavailable,
    )
    expect(() => detectLayout({ root: '/cg', fsType: kinds({ '/cg': 'other' }), mountinfo: '', selfCgroup })).toThrow(
      CgroupUnavailable,
    )
    expect(() => detectLayout({ root: '/cg', fsType: kinds({}), mountinfo: '', selfCgroup })).toThrow(CgroupUnavailable)
  })

  it('mountinfo: optional fields vary in number and paths are octal-escaped', () => {
    const text =
      '41 31 0:38 / /sys/fs/cgroup/my\\040dir rw - cgroup2 cgroup2 rw\n42 31 0:39 / /x rw shared:1 master:2 - cgroup cgroup rw,memory\n'
    expect(parseMountinfo(text)).toEqual([
      { root: '/', point: '/sys/fs/cgroup/my dir', fstype: 'cgroup2', superOptions: ['rw'] },
      { root: '/', point: '/x', fstype: 'cgroup', superOptions: ['rw', 'memory'] },
    ])
  })
})

describe('capabilities and errors on fixture trees', () => {
  const tree = useTrees()
  const v2 = (root: string) => ({
    root,
    fsType: (p: string): FsKind => (p === root ? 'cgroup2' : 'missing'),
    mountinfo: mountLine(30, '/', root, 'cgroup2', 'rw'),
    selfCgroup: '0::/svc\n',
  })
  const v1 = (root: string) => ({
    root,
    fsType: (p: string): FsKind => (p === root ? 'tmpfs' : 'missing'),
    mountinfo: mountLine(35, '/', `${root}/memory`, 'cgroup', 'rw,memory'),
    selfCgroup: '4:memory:/svc\n',
  })

  it('v2 without the memory controller delegated: null, with a reason, nothing created', async () => {
    const root = tree({
      'cgroup.controllers': 'cpu memory',
      'svc/cgroup.controllers': 'cpu pids',
      'svc/cgroup.subtree_control': '',
      'svc/cgroup.procs': '1\n',
    })
    const before = listTree(root)
    const m = CgroupManager.detect(v2(root))
    expect(m.capabilities).toEqual({
      cgroup: null,
      oomDetection: false,
      reason: expect.stringContaining(`${root}/svc`),
      fix: expect.stringContaining('Delegate=yes'),
      controllers: expect.anything(),
    })
    expect(m.acquire()).toBeNull()
    await m.close()
    expect(listTree(root)).toEqual(before)
  })

  it('v1 hierarchy without memory files (kernel without CONFIG_MEMCG_V1): null, with a reason', async () => {
    const root = tree({ 'memory/svc/cgroup.procs': '1\n' })
    const m = CgroupManager.detect(v1(root))
    expect(m.capabilities).toEqual({
      cgroup: null,
      oomDetection: false,
      reason: expect.any(String),
      controllers: expect.anything(),
    })
    await m.close()
  })

  it('a missing explicit parent: null, with a reason naming it', () => {
    const root = tree({ 'memory/svc/memory.limit_in_bytes': '9223372036854771712\n' })
    const m = CgroupManager.detect({ ...v1(root), parent: `${root}/memory/nope` })
    expect(m.capabilities.reason).toContain(`${root}/memory/nope`)
  })

  it('a memory_limit without cgroups fails with ENOTSUP, syscall cgroup', () => {
    const m = CgroupManager.detect({ root: '/nonexistent-cgroup-root' })
    expect(m.capabilities.cgroup).toBeNull()
    expect(m.acquire()).toBeNull()
    let err: CgroupError | null = null
    try {
      m.acquire({ memoryLimit: 64 * MiB })
    } catch (e) {
      err = e as CgroupError
    }
    expect(err).toMatchObject({ code: 'ENOTSUP', errno: -95, syscall: 'cgroup' })
  })

  it('v1 without oom_kill in memory.oom_control: cgroups on, OOM detection off; close leaves the tree as it was', async () => {
    const root = tree({
      'memory/svc/memory.limit_in_bytes': '9223372036854771712\n',
      'memory/svc/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\n',
    })
    const before = listTree(root)
    const m = CgroupManager.detect(v1(root))
    expect(m.capabilities).toEqual({
      cgroup: 'v1',
      oomDetection: false,
      reason: expect.stringContaining('memory.oom_control'),
      controllers: expect.anything(),
      dir: m.dir,
      placement: 'own',
    })
    expect(path.dirname(m.dir!)).toBe(`${root}/memory/svc/sandproc`)
    await m.close()
    expect(listTree(root)).toEqual(before)
  })
})

describe('a process cgroup on fixture trees', () => {
  const made: string[] = []
  afterAll(() => {
    for (const root of made) fs.rmSync(root, { recursive: true, force: true })
  })
  function cgroupDir(spec: Record<string, string>): string {
    const root = makeTree(spec)
    made.push(root)
    return root
  }

  it('v2 without memory.peak or cgroup.kill: peak is null, killAll signals each pid until procs is empty', async () => {
    const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' })
    const dir = cgroupDir({
      'cgroup.procs': `${sleeper.pid}\n`,
      'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 1\n',
    })
    // The kernel empties cgroup.procs when the task exits; here the test does.
    const exited = once(sleeper, 'exit').then(([code, signal]) => {
      fs.writeFileSync(path.join(dir, 'cgroup.procs'), '')
      return { code, signal }
    })
    const cg = ProcessCgroup.openSync(dir, 'v2')
    fs.writeFileSync(path.join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 3\noom_kill 3\n')
    expect(cg.readCounters()).toEqual({ oomKills: 2, memoryPeak: null })
    await cg.killAll()
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' })
    expect(fs.existsSync(path.join(dir, 'cgroup.kill'))).toBe(false)
  })

  it('v2 group kills: the victim counted twice in oom_kill is counted once', () => {
    const dir = cgroupDir({ 'cgroup.procs': '', 'memory.events': 'oom 1\noom_kill 1\noom_group_kill 0\n' })
    const cg = ProcessCgroup.openSync(dir, 'v2')
    // One group kill of a shell and its hog, as kernel 6.1 counts it.
    fs.writeFileSync(path.join(dir, 'memory.events'), 'oom 2\noom_kill 4\noom_group_kill 1\n')
    expect(cg.readCounters().oomKills).toBe(2)
  })

  it('v1 without oom_kill: oomKills is null, the peak still reads', () => {
    const dir = cgroupDir({
      'cgroup.procs': '',
      'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\n',
      'memory.max_usage_in_bytes': '1234\n',
    })
    const cg = ProcessCgroup.openSync(dir, 'v1')
    expect(cg.readCounters()).toEqual({ oomKills: null, memoryPeak: 1234 })
    expect(cg.dirFd).toBe(-1)
    // Without a tasks file the join is cgroup.procs alone.
    expect(cg.tasksFd).toBe(-1)
    expect(cg.join).toEqual({ fd: cg.procsFd, path: dir })
  })

  it('texts read at the reap are used instead of the files; procs read then says whether a kill pass is needed', () => {
    const dir = cgroupDir({
      'cgroup.procs': '',
      'memory.oom_control': 'oom_kill 1\n',
      'memory.max_usage_in_bytes': '1\n',
    })
    const cg = ProcessCgroup.openSync(dir, 'v1')
    expect(cg.exitReads).toEqual(
      ['memory.oom_control', 'memory.max_usage_in_bytes', 'cgroup.procs'].map((f) => path.join(dir, f)),
    )
    // Baseline 1 from the file; the counters from the texts, not from the files (still 1 and 1).
    expect(cg.readCounters(['under_oom 0\noom_kill 3\n', '4096\n', ''])).toEqual({ oomKills: 2, memoryPeak: 4096 })
    // A file the addon could not read is an unknown counter.
    expect(cg.readCounters([null, null, null])).toEqual({ oomKills: null, memoryPeak: null })
    expect(cg.emptyAtReap(['', '', ''])).toBe(true)
    expect(cg.emptyAtReap(['', '', '4242\n'])).toBe(false)
    // Unread (a stand-in binding) or unreadable: the kill pass decides.
    expect(cg.emptyAtReap(['', '', null])).toBe(false)
    expect(cg.emptyAtReap()).toBe(false)
  })

  it('a limit skips the files a kernel lacks (no swap, no oom.group)', () => {
    const dir = cgroupDir({ 'cgroup.procs': '', 'memory.max': 'max\n', 'memory.events': 'oom_kill 0\n' })
    const cg = ProcessCgroup.openSync(dir, 'v2')
    cg.setLimitSync(64 * MiB)
    expect(fs.readFileSync(path.join(dir, 'memory.max'), 'utf8')).toBe(String(64 * MiB))
    expect(fs.readdirSync(dir).sort()).toEqual(['cgroup.procs', 'memory.events', 'memory.max'])
  })

  it('a failed limit write is a SystemError with syscall cgroup and the path', () => {
    const dir = cgroupDir({ 'cgroup.procs': '' })
    const cg = ProcessCgroup.openSync(dir, 'v1')
    expect(() => cg.setLimitSync(64 * MiB)).toThrow(
      expect.objectContaining({
        code: 'ENOENT',
        errno: -2,
        syscall: 'cgroup',
        path: path.join(dir, 'memory.limit_in_bytes'),
      }),
    )
  })

  it('release closes the fds once and removes the directory', async () => {
    const root = cgroupDir({ 'p1/cgroup.procs': '' })
    const dir = path.join(root, 'p1')
    const cg = ProcessCgroup.openSync(dir, 'v2')
    fs.rmSync(path.join(dir, 'cgroup.procs'))
    const [a, b] = [cg.release(), cg.release()]
    expect(a).toBe(b)
    await a
    expect(fs.existsSync(dir)).toBe(false)
  })
})

describe('parseMemoryLimit', () => {
  it.each([
    [1048576, 1048576],
    ['512k', 512 * 1024],
    ['256M', 256 * MiB],
    ['256MiB', 256 * MiB],
    ['1G', 1024 * MiB],
    ['1gb', 1024 * MiB],
    ['1.5G', 1536 * MiB],
    [' 100 ', 100],
  ])('%j → %d bytes', (input, bytes) => {
    expect(parseMemoryLimit(input)).toBe(bytes)
  })

  it.each([0, -1, 1.5, Number.NaN, Infinity, '', 'abc', '-5M', '12X', '0M', '1e3'])(
    'rejects %s with a TypeError naming memory_limit',
    (input) => {
      expect(() => parseMemoryLimit(input)).toThrow(TypeError)
      expect(() => parseMemoryLimit(input)).toThrow(
        expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringContaining('memory_limit') }),
      )
    },
  )
})
