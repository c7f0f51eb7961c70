/**
 * Where the per-process cgroups go on cgroup v2 when no parent is given: the deployment
 * shapes of docs/deploying.md. In order: the supervisor's own cgroup (after the leaf move
 * of subtree-control.ts); as PID 1 of a container whose cgroup-namespace root holds processes it
 * does not own, those move into `<root>/init` first, as container inits do; else (its
 * cgroup shared, or without the memory controller) the nearest ancestor whose children
 * can have the memory controller gets `<ancestor>/sandproc-<pid>/`. Nothing sandproc does not own is moved, and under systemd
 * it never leaves its unit: it explains `Delegate=yes` instead.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { enableMemoryWithDance, mkdirOnce, ours } from './subtree-control.js'
import type { Layout } from './detect.js'
import { CgroupUnavailable, hasCode, SharedCgroup } from './errors.js'
import { pidList, words, writeSync } from './fs.js'

/** How the cgroups were placed (`capabilities.placement`). */
export type Placement = 'own' | 'init' | 'ancestor' | 'parent'

/** Where {@link placeV2} put things. */
export interface Site {
  placement: Placement
  /** The cgroup whose `cgroup.subtree_control` has `+memory` and that holds `parent`. */
  base: string
  /** The directory sandproc made for its per-supervisor directories (removed when empty). */
  parent: string
}

/** The leaf a container's PID 1 moves the namespace root's other processes into. */
export const INIT_LEAF = 'init'

/** The systemd unit cgroup (`*.service`, `*.scope`) that `dir` is in or under, if any. */
export function systemdUnit(layout: Layout, dir: string): string | null {
  const parts = path.relative(layout.mountPoint, dir).split(path.sep)
  for (let at = parts.length - 1; at >= 0; at--) {
    if (/\.(service|scope)$/.test(parts[at])) return path.join(layout.mountPoint, ...parts.slice(0, at + 1))
  }
  return null
}

/**
 * As a container's PID 1: the processes of the namespace root that are not ours move to
 * `<root>/init`. A process outside our pid namespace reads as pid 0 and cannot be moved.
 */
function moveOthersToInit(root: string, self: number): void {
  const init = path.join(root, INIT_LEAF)
  mkdirOnce(init)
  // A process we move may fork meanwhile, its child landing in the root: look again.
  for (let round = 0; round < 3; round++) {
    const mine = new Set(ours(root, self))
    const others = pidList(fs.readFileSync(path.join(root, 'cgroup.procs'), 'utf8')).filter((p) => !mine.has(p))
    if (others.length === 0) return
    if (others.includes(0)) {
      throw new SharedCgroup(
        `${root} holds processes from outside this pid namespace, which its PID 1 cannot move`,
        'pass --cgroup-parent DIR (a cgroup with the memory controller that holds no processes)',
      )
    }
    for (const pid of others) {
      try {
        writeSync(path.join(init, 'cgroup.procs'), String(pid))
      } catch (err) {
        if (!hasCode(err, 'ESRCH')) throw err
      }
    }
  }
}

/**
 * The nearest ancestor of `own` (up to the mount's root) whose children can have memory:
 * `+memory` already in its `cgroup.subtree_control`, or written there now (which works
 * only if it holds no processes, or is the real root). Never above `stop`.
 */
function nearestAncestor(layout: Layout, own: string, stop: string): string | null {
  for (let dir = path.dirname(own); ; dir = path.dirname(dir)) {
    if (path.relative(stop, dir).startsWith('..')) return null
    if (words(path.join(dir, 'cgroup.subtree_control')).includes('memory')) return dir
    if (words(path.join(dir, 'cgroup.controllers')).includes('memory') || dir === layout.mountPoint) {
      try {
        writeSync(path.join(dir, 'cgroup.subtree_control'), '+memory')
        return dir
      } catch {
        // Holds processes (EBUSY) or not ours to change: one further up may do.
      }
    }
    if (dir === layout.mountPoint) return null
  }
}

/**
 * Chooses where this supervisor's cgroups go on v2 and enables `+memory` on the way.
 * @throws CgroupUnavailable whose message is the reason and `fix` the one-line remedy.
 */
export function placeV2(layout: Layout, base: string, self: number): Site {
  const own: Site = { placement: 'own', base, parent: path.join(base, 'sandproc') }
  try {
    enableMemoryWithDance(base, self)
    return own
  } catch (err) {
    // Shared with others, or no memory controller passed down to it: look further.
    if (!(err instanceof CgroupUnavailable)) throw err
    const unit = systemdUnit(layout, base)
    if (unit !== null) {
      throw new CgroupUnavailable(
        err instanceof SharedCgroup
          ? `${base} is in the systemd unit ${path.basename(unit)} and shared with processes that are not sandproc's; sandproc does not leave its unit`
          : `${err.message}; it is in the systemd unit ${path.basename(unit)}, which sandproc does not leave`,
        'set Delegate=yes in the unit (as deploy/sandproc.service does) and run sandproc as its main process',
      )
    }
    // PID 1 of a container whose namespace root is our cgroup (the mount shows it as /).
    if (self === 1 && base === layout.mountPoint && err instanceof SharedCgroup) {
      moveOthersToInit(base, self)
      enableMemoryWithDance(base, self)
      return { ...own, placement: 'init' }
    }
    const ancestor = nearestAncestor(layout, base, layout.mountPoint)
    if (ancestor === null) {
      const container = base === layout.mountPoint && err instanceof SharedCgroup
      throw new CgroupUnavailable(
        `${err.message}, and no ancestor up to ${layout.mountPoint} can give a child cgroup the memory controller`,
        container
          ? 'run sandproc as PID 1 of the container (it then moves the others into /init), or pass --cgroup-parent DIR'
          : (err.fix ?? 'pass --cgroup-parent DIR (a cgroup with the memory controller that holds no processes)'),
      )
    }
    return { placement: 'ancestor', base: ancestor, parent: path.join(ancestor, `sandproc-${self}`) }
  }
}
