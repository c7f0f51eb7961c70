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
 * holds no processes, and is measured with cgroups in every shape.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { Capabilities } from '../../src/index.js'

/** What a supervisor reports of its cgroups (`sup.capabilities`), as the workers send it. */
export type CgroupShape = Pick<Capabilities, 'cgroup' | 'placement' | 'dir' | 'reason'>

export function shapeOf(caps: Capabilities): CgroupShape {
  return { cgroup: caps.cgroup, placement: caps.placement, dir: caps.dir, reason: caps.reason }
}

/** This process's own cgroup v2 path (`0::/...`), null on v1-only hosts. */
function ownV2Path(): string | null {
  try {
    return /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? null
  } catch {
    return null
  }
}

/** The cgroup a worker in its own process is given (`cgroup: { parent }`); undefined on v1 or without cgroups. */
export function workerCgroupParent(shape: CgroupShape): string | undefined {
  return shape.cgroup === 'v2' && shape.dir !== undefined ? path.dirname(shape.dir) : undefined
}

/** Where the bench started, on v2: the root cgroup, a systemd unit, or another cgroup. */
export function hostShape(startedIn: string | null): string {
  if (startedIn === null) return 'no cgroup v2 hierarchy for this process'
  if (startedIn === '/') return 'the root cgroup'
  const unit = startedIn.split('/').find((p) => /\.(service|scope)$/.test(p))
  return unit === undefined ? `the cgroup ${startedIn}` : `the systemd unit ${unit} (${startedIn})`
}

/** Read before any supervisor moves the bench into a leaf. */
export const STARTED_IN = ownV2Path()

/** "cgroup v2, placement own, per-process cgroups under /sys/fs/cgroup/sandproc/s1-ab" or why none. */
export function describeShape(shape: CgroupShape): string {
  if (shape.cgroup === null) return `no per-process cgroups (${shape.reason ?? 'cgroups off'})`
  const where = `per-process cgroups under ${shape.dir ?? '?'}`
  return shape.cgroup === 'v2' ? `cgroup v2, placement ${shape.placement ?? '?'}, ${where}` : `cgroup v1, ${where}`
}
