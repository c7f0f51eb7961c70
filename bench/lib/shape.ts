/**
 * Where the bench's sandproc put its per-process cgroups, said in one line, so that a
 * run on any host tells which deployment shape it measured (docs/deploying.md): the
 * root cgroup, a delegated service, a shared cgroup, a container.
 *
 * On cgroup v2 the supervisor in the bench process arranges its own cgroup first (the
 * leaf move), and the workers the bench starts afterwards are born in that leaf beside
 * it, where a second supervisor would find its cgroup shared (inside a systemd unit it
 * would turn cgroups off). So the worker that is Bun's peer is given the first
 * supervisor's parent directory (`cgroup.parent`), which has the memory controller and
 * holds no processes, and is measured with cgroups in every shape. And as the main
 * process of a delegated service, `npm run bench` is not alone in the service's cgroup:
 * npm, the shell and tsx that started it are there too, and a supervisor leaves them be
 * and turns cgroups off (docs/deploying.md); so the bench moves those launchers into a
 * leaf of their own first (leaveLauncherBehind).
 */
import { mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Capabilities } from '../../src/index.js'

/** What a supervisor reports of its cgroups (`sup.capabilities`), as the workers send it. */
export type CgroupShape = Pick<Capabilities, 'cgroup' | 'placement' | 'dir' | 'reason'>

export function shapeOf(caps: Capabilities): CgroupShape {
  return { cgroup: caps.cgroup, placement: caps.placement, dir: caps.dir, reason: caps.reason }
}

const CGROUP2_SUPER_MAGIC = 0x63677270

/**
 * Where this process is: its cgroup v2 path (`0::/...`) on a v2 host, else its v1 memory
 * cgroup (a hybrid host's v2 path says nothing about where memory is accounted).
 */
function ownCgroup(): { mode: 'v2' | 'v1'; path: string } | null {
  try {
    const text = readFileSync('/proc/self/cgroup', 'utf8')
    if (statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC) {
      const v2 = /^0::(.*)$/m.exec(text)?.[1]
      return v2 === undefined ? null : { mode: 'v2', path: v2 }
    }
    const v1 = /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/m.exec(text)?.[1]
    return v1 === undefined ? null : { mode: 'v1', path: v1 }
  } catch {
    return null
  }
}

/** The cgroup a worker in its own process is given (`cgroup: { parent }`); undefined on v1 or without cgroups. */
export function workerCgroupParent(shape: CgroupShape): string | undefined {
  return shape.cgroup === 'v2' && shape.dir !== undefined ? path.dirname(shape.dir) : undefined
}

/** Where the bench started: the root cgroup, a systemd unit, or another cgroup (v2; v1: its memory cgroup). */
export function hostShape(startedIn: { mode: 'v2' | 'v1'; path: string } | null): string {
  if (startedIn === null) return 'no cgroup this process could find'
  const { mode, path: at } = startedIn
  const unit = at.split('/').find((p) => /\.(service|scope)$/.test(p))
  const what =
    at === '/' ? 'the root cgroup' : unit === undefined ? `the cgroup ${at}` : `the systemd unit ${unit} (${at})`
  return mode === 'v2' ? `${what} (cgroup v2)` : `${what} of the v1 memory hierarchy`
}

/** Read before any supervisor moves the bench into a leaf. */
export const STARTED_IN = ownCgroup()

/** "cgroup v2, placement own, per-process cgroups under /sys/fs/cgroup/sandproc/s1-ab" or why none. */
export function describeShape(shape: CgroupShape): string {
  if (shape.cgroup === null) return `no per-process cgroups (${shape.reason ?? 'cgroups off'})`
  const where = `per-process cgroups under ${shape.dir ?? '?'}`
  return shape.cgroup === 'v2' ? `cgroup v2, placement ${shape.placement ?? '?'}, ${where}` : `cgroup v1, ${where}`
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

/** This process's ancestors, nearest first. */
function ancestors(): number[] {
  const out: number[] = []
  for (let p = process.ppid; p > 1 && out.length < 64; p = parentOf(p)) out.push(p)
  return out
}

function descendsFrom(pid: number, ancestor: number): boolean {
  try {
    for (let p = parentOf(pid), hops = 0; p > 1 && hops < 64; p = parentOf(p), hops++) {
      if (p === ancestor) return true
    }
  } catch {
    // Gone meanwhile.
  }
  return false
}

/**
 * On cgroup v2, below the root: when every other process in the bench's cgroup belongs
 * to the tree that launched it (npm, sh, tsx and their helpers, such as esbuild), those
 * that are not the bench's own descendants move into `<own>/launcher`, leaving the bench
 * alone in its cgroup with its own children, as a supervisor needs to be (a service's
 * main process, with `Delegate=yes`). A cgroup shared with anything else is left as it
 * is, for the supervisor's own rules. Call it first, before the bench starts any
 * process. Returns what it did, for the log, or null.
 */
export function leaveLauncherBehind(): string | null {
  if (STARTED_IN?.mode !== 'v2' || STARTED_IN.path === '/') return null
  const own = path.join('/sys/fs/cgroup', STARTED_IN.path)
  const others = readFileSync(path.join(own, 'cgroup.procs'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map(Number)
    .filter((p) => p !== process.pid)
  // The launch tree's root: the farthest ancestor that is in this cgroup too.
  const top = ancestors()
    .filter((p) => others.includes(p))
    .pop()
  if (top === undefined || !others.every((p) => p === top || descendsFrom(p, top))) return null
  const launchers = others.filter((p) => !descendsFrom(p, process.pid))
  const leaf = path.join(own, 'launcher')
  mkdirSync(leaf, { recursive: true })
  for (const p of launchers) writeFileSync(path.join(leaf, 'cgroup.procs'), String(p))
  return `moved the processes that started the bench (${launchers.join(', ')}) into ${leaf}, leaving the bench alone in ${own}`
}
