/**
 * Where the memory controller lives and which of its cgroups this process is in.
 * Decided as crun decides it: `statfs` of the root (cgroup2 → unified), else of
 * `<root>/unified` (cgroup2 → hybrid, else legacy), then `/proc/self/mountinfo` for the
 * v1 hierarchy that carries `memory`. Reads only; creates nothing.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { CgroupUnavailable, hasCode } from './errors.js'

/** What `statfs` says a path is. Tests pass their own classifier to lay out fixture trees. */
export type FsKind = 'cgroup2' | 'cgroup' | 'tmpfs' | 'other' | 'missing'

/** Inputs of detection; each defaults to the live system. */
export interface LayoutOptions {
  /** Where cgroup hierarchies are mounted. Default `/sys/fs/cgroup`. */
  root?: string
  /** Contents of `/proc/self/cgroup`. */
  selfCgroup?: string
  /** Contents of `/proc/self/mountinfo`. */
  mountinfo?: string
  /** Filesystem kind of a path. Default: `statfs(2)` magic numbers. */
  fsType?: (path: string) => FsKind
}

/** The memory hierarchy found, and this process's own memory cgroup in it. */
export interface Layout {
  mode: 'v1' | 'v2'
  /** How `/sys/fs/cgroup` is laid out (hybrid: v1 controllers beside a cgroup2 mount). */
  hierarchy: 'unified' | 'hybrid' | 'legacy'
  /** Mount point of the hierarchy that holds the memory controller. */
  mountPoint: string
  /** Absolute directory of this process's own memory cgroup. */
  ownDir: string
}

const MAGIC: Record<number, FsKind> = { 0x63677270: 'cgroup2', 0x27e0eb: 'cgroup', 0x01021994: 'tmpfs' }

/** `statfs(2)` of `p`, by magic number. */
export function statfsKind(p: string): FsKind {
  try {
    return MAGIC[fs.statfsSync(p).type] ?? 'other'
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) return 'missing'
    throw err
  }
}

/** One line of `/proc/self/mountinfo`, the fields sandproc reads. */
export interface Mount {
  root: string
  point: string
  fstype: string
  superOptions: string[]
}

/** mountinfo escapes space, tab, newline and backslash as `\ooo`. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
}

/** Parses `/proc/self/mountinfo` (proc(5)): optional fields end at a lone `-`. */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = []
  for (const line of text.split('\n')) {
    const f = line.split(' ')
    const sep = f.indexOf('-', 6)
    if (sep < 0 || sep + 3 >= f.length) continue
    mounts.push({
      root: unescape(f[3]),
      point: unescape(f[4]),
      fstype: f[sep + 1],
      superOptions: f[sep + 3].split(','),
    })
  }
  return mounts
}

/** The cgroup path of the `memory` line (v1) or of the `0::` line (v2) of `/proc/self/cgroup`. */
export function ownCgroupPath(text: string, mode: 'v1' | 'v2'): string | null {
  for (const line of text.split('\n')) {
    const a = line.indexOf(':')
    const b = line.indexOf(':', a + 1)
    if (a < 0 || b < 0) continue
    const id = line.slice(0, a)
    const controllers = line.slice(a + 1, b).split(',')
    const p = line.slice(b + 1)
    if (mode === 'v2' ? id === '0' && controllers[0] === '' : controllers.includes('memory')) return p
  }
  return null
}

/**
 * A cgroup path is relative to its hierarchy's root; a mount may show only a subtree of
 * it (containers bind-mount their own cgroup), so strip the mount's root first.
 */
export function dirUnder(mount: Mount, cgPath: string): string {
  const r = mount.root === '/' ? '' : mount.root
  if (cgPath !== r && !cgPath.startsWith(`${r}/`)) {
    throw new CgroupUnavailable(`own cgroup ${cgPath} is outside the mount at ${mount.point} (root ${mount.root})`)
  }
  // No trailing slash for the mount's own root: callers compare it with the mount point.
  const rel = cgPath.slice(r.length).replace(/^\/+/, '')
  return rel === '' ? mount.point : path.join(mount.point, rel)
}

function hasMemoryV2(dir: string): boolean {
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')
  } catch {
    return false
  }
}

/**
 * Finds the memory hierarchy and this process's cgroup in it.
 * @throws CgroupUnavailable when there is none (its message says why); other errors as thrown by fs.
 */
export function detectLayout(opts: LayoutOptions = {}): Layout {
  const root = path.resolve(opts.root ?? '/sys/fs/cgroup')
  const kind = opts.fsType ?? statfsKind
  const mounts = parseMountinfo(opts.mountinfo ?? fs.readFileSync('/proc/self/mountinfo', 'utf8'))
  const self = opts.selfCgroup ?? fs.readFileSync('/proc/self/cgroup', 'utf8')
  const top = kind(root)
  if (top === 'missing') throw new CgroupUnavailable(`${root} does not exist`)

  const v2 = (point: string, hierarchy: Layout['hierarchy']): Layout => {
    // The last mount at a point is the one on top, which is what paths there reach: a
    // container that mounts its own cgroup2 over the host's shows both.
    const mount = [...mounts].reverse().find((m) => m.fstype === 'cgroup2' && m.point === point) ?? {
      root: '/',
      point,
      fstype: 'cgroup2',
      superOptions: [],
    }
    const own = ownCgroupPath(self, 'v2')
    if (own === null) throw new CgroupUnavailable('/proc/self/cgroup has no cgroup2 (0::) line')
    return { mode: 'v2', hierarchy, mountPoint: point, ownDir: dirUnder(mount, own) }
  }

  if (top === 'cgroup2') return v2(root, 'unified')
  if (top !== 'tmpfs' && top !== 'cgroup') {
    throw new CgroupUnavailable(`${root} is not a cgroup filesystem (statfs says ${top})`)
  }
  const unified = path.join(root, 'unified')
  const hierarchy = kind(unified) === 'cgroup2' ? 'hybrid' : 'legacy'
  const memory = mounts.filter((m) => m.fstype === 'cgroup' && m.superOptions.includes('memory'))
  const mount = memory.find((m) => m.point.startsWith(`${root}/`)) ?? memory[0]
  if (mount === undefined) {
    // A hybrid host may have left memory to cgroup2 (cgroup_no_v1=memory).
    if (hierarchy === 'hybrid' && hasMemoryV2(unified)) return v2(unified, 'hybrid')
    throw new CgroupUnavailable('no memory controller is mounted (no v1 memory hierarchy, no memory on cgroup2)')
  }
  const own = ownCgroupPath(self, 'v1')
  if (own === null) throw new CgroupUnavailable('/proc/self/cgroup has no memory line')
  return { mode: 'v1', hierarchy, mountPoint: mount.point, ownDir: dirUnder(mount, own) }
}
