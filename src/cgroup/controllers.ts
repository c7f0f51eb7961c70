/**
 * Which limit controllers (`pids`, `cpu`) a supervisor can use beside memory, and where
 * (docs/cgroups.md). On v2 they live in the memory cgroups themselves, once enabled
 * beside `+memory` down the same subtree. On v1 each is a hierarchy of its own, found
 * in `/proc/self/mountinfo`; one co-mounted with memory uses the memory cgroups.
 * Reasons are kept for `capabilities`.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { dirUnder, parseMountinfo, type Layout, type LayoutOptions } from './detect.js'
import { words, writeSync } from './fs.js'
import { type Controller, PROBE_FILE, V1Hierarchy, type V1Controller, type V1Site } from './v1-hierarchy.js'
import type { Setup } from './supervisor-dir.js'

export type { Controller } from './v1-hierarchy.js'

export const LIMIT_CONTROLLERS: readonly Controller[] = ['pids', 'cpu']
const V1_CONTROLLERS: readonly V1Controller[] = [...LIMIT_CONTROLLERS, 'freezer']

/** Whether a controller can apply a limit here, and why not. */
export interface ControllerState {
  usable: boolean
  reason?: string
}

/** Options for the limit controllers; part of the cgroup options. */
export interface ControllerOptions {
  /**
   * v1: the parent directory of this supervisor's cgroups in a controller's own
   * hierarchy (default `<own cgroup there>/sandproc`); `false` leaves the controller
   * unused on v1 and v2 (its limits then fail with ENOTSUP; a freeze with
   * FREEZE_UNAVAILABLE).
   */
  hierarchies?: Partial<Record<V1Controller, string | false>>
}

/** What {@link detectControllers} found. */
export interface Controllers {
  states: Record<Controller, ControllerState>
  /** Controllers whose files are in the process's memory cgroup (v2; v1 co-mounted with memory). */
  inline: Set<Controller>
  /** v1 hierarchies apart from memory, each with this supervisor's directory. */
  hierarchies: Map<Controller, V1Hierarchy>
}

const usable: ControllerState = { usable: true }
const unusable = (reason: string): ControllerState => ({ usable: false, reason })

/** The cgroup path of the v1 line of `/proc/self/cgroup` that lists `controller`. */
function ownV1Path(text: string, controller: string): string | null {
  for (const line of text.split('\n')) {
    const [, list, ...rest] = line.split(':')
    if (list !== undefined && rest.length > 0 && list.split(',').includes(controller)) return rest.join(':')
  }
  return null
}

/**
 * v2: `+<controller>` in `cgroup.subtree_control` of each directory from the top down
 * (the same chain that got `+memory`, none of which holds processes by now). Each
 * controller on its own, so one that is not delegated leaves the others working.
 */
function enableV2(chain: string[], controller: Controller): ControllerState {
  for (const dir of chain) {
    if (words(path.join(dir, 'cgroup.subtree_control')).includes(controller)) continue
    if (!words(path.join(dir, 'cgroup.controllers')).includes(controller)) {
      return unusable(
        `the ${controller} controller is not available in ${dir} (not delegated; under systemd use Delegate=yes)`,
      )
    }
    try {
      writeSync(path.join(dir, 'cgroup.subtree_control'), `+${controller}`)
    } catch (err) {
      return unusable(`cannot enable ${controller} in ${dir}/cgroup.subtree_control: ${(err as Error).message}`)
    }
  }
  return usable
}

/** v1: the hierarchy carrying `controller`, preferring a mount under the cgroup root. */
export function v1Site(opts: LayoutOptions, controller: V1Controller): V1Site | string {
  const root = path.resolve(opts.root ?? '/sys/fs/cgroup')
  const mounts = parseMountinfo(opts.mountinfo ?? fs.readFileSync('/proc/self/mountinfo', 'utf8'))
  const all = mounts.filter((m) => m.fstype === 'cgroup' && m.superOptions.includes(controller))
  const mount = all.find((m) => m.point.startsWith(`${root}/`)) ?? all[0]
  if (mount === undefined) return `no ${controller} controller is mounted (no v1 ${controller} hierarchy)`
  const own = ownV1Path(opts.selfCgroup ?? fs.readFileSync('/proc/self/cgroup', 'utf8'), controller)
  if (own === null) return `/proc/self/cgroup has no ${controller} line`
  try {
    const controllers = V1_CONTROLLERS.filter((c) => mount.superOptions.includes(c))
    return { mountPoint: mount.point, ownDir: dirUnder(mount, own), controllers }
  } catch (err) {
    return (err as Error).message
  }
}

/**
 * Decides for each limit controller, after the memory directory is set up; on v1 creates
 * the per-supervisor directory of each separate hierarchy (named as the memory one).
 * Never throws: a controller that cannot be used gets a reason.
 */
export function detectControllers(layout: Layout, setup: Setup, opts: LayoutOptions & ControllerOptions): Controllers {
  const found: Controllers = { states: { pids: usable, cpu: usable }, inline: new Set(), hierarchies: new Map() }
  const name = path.basename(setup.dir)
  for (const c of LIMIT_CONTROLLERS) {
    const choice = opts.hierarchies?.[c]
    if (choice === false) {
      found.states[c] = unusable(`the ${c} controller is turned off (hierarchies.${c}: false)`)
      continue
    }
    if (layout.mode === 'v2') {
      // The chain that got +memory: the default parent's parent (own, after the dance), then parent, then dir.
      const chain = setup.parentIsDefault
        ? [path.dirname(setup.parent), setup.parent, setup.dir]
        : [setup.parent, setup.dir]
      found.states[c] = enableV2(chain, c)
      if (found.states[c].usable) found.inline.add(c)
      continue
    }
    const site = v1Site(opts, c)
    if (typeof site === 'string') {
      found.states[c] = unusable(site)
      continue
    }
    if (site.mountPoint === layout.mountPoint) {
      if (fs.existsSync(path.join(setup.dir, PROBE_FILE[c]))) found.inline.add(c)
      else found.states[c] = unusable(`${setup.dir} has no ${PROBE_FILE[c]}`)
      continue
    }
    // cpu and pids co-mounted: one hierarchy serves both.
    const shared = [...found.hierarchies.values()].find((h) => h.controllers.includes(c))
    if (shared !== undefined) {
      found.hierarchies.set(c, shared)
      continue
    }
    try {
      found.hierarchies.set(c, V1Hierarchy.setup(site, name, typeof choice === 'string' ? choice : undefined))
    } catch (err) {
      found.states[c] = unusable((err as Error).message)
    }
  }
  return found
}
