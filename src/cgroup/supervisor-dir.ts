/**
 * The per-supervisor directory: `<parent>/s<pid>-<random>/`, under which every process
 * gets its own cgroup. One directory per supervisor so that several supervisors (and
 * parallel test files) sharing a parent never touch each other's cgroups. Where the
 * parent is on v2 without one given: placement.ts.
 */
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { enableMemoryNoProcesses, LEAF, mkdirOnce, rmdirQuiet } from './subtree-control.js'
import type { Layout } from './detect.js'
import { CgroupUnavailable, hasCode } from './errors.js'
import { delay, keyedValue, readOptionalSync, words } from './fs.js'
import { placeV2, type Placement } from './placement.js'

/** How to choose the parent. */
export interface SetupOptions {
  /** Parent cgroup directory (must exist). Default `<own memory cgroup>/sandproc`, created if absent. */
  parent?: string
  /** The supervisor's pid, moved into a leaf by the v2 dance. Default `process.pid`. */
  pid?: number
}

/** What {@link setupSupervisorDir} made. */
export interface Setup {
  mode: 'v1' | 'v2'
  /** The per-supervisor directory. */
  dir: string
  parent: string
  /**
   * sandproc made the parent (`<own>/sandproc`, shared by supervisors, or
   * `<ancestor>/sandproc-<pid>`): removed by whichever supervisor leaves it empty. Its
   * own parent got `+memory` too.
   */
  parentIsDefault: boolean
  /** How the parent was chosen (docs/deploying.md). */
  placement: Placement
  /** Why OOM detection is off although cgroups work; undefined when it is on. */
  oomReason?: string
}

/**
 * A supervisor that already did the dance sits in `<own>/supervisor`; its default parent
 * stays `<own>/sandproc` rather than nesting a new leaf on every detection.
 */
function baseDir(layout: Layout): string {
  const up = path.dirname(layout.ownDir)
  const danced = layout.mode === 'v2' && path.basename(layout.ownDir) === LEAF && up !== layout.ownDir
  return danced && words(path.join(up, 'cgroup.subtree_control')).includes('memory') ? up : layout.ownDir
}

/** On v1 the counter is local to each cgroup, so the pre-existing base tells; on v2 the new dir does. */
function oomReason(layout: Layout, base: string, dir: string): string | undefined {
  const file = layout.mode === 'v2' ? path.join(dir, 'memory.events') : path.join(base, 'memory.oom_control')
  const text = readOptionalSync(file)
  if (text === null) return `${file} is missing`
  if (keyedValue(text, 'oom_kill') === null) return `${file} has no oom_kill counter (kernel older than 4.13)`
  return undefined
}

/**
 * Chooses the parent, applies the v2 dance, and creates this supervisor's directory.
 * @throws CgroupUnavailable (message = reason) or an fs error; leaves nothing behind on failure.
 */
export function setupSupervisorDir(layout: Layout, opts: SetupOptions = {}): Setup {
  const v2 = layout.mode === 'v2'
  const pid = opts.pid ?? process.pid
  let base = opts.parent === undefined ? baseDir(layout) : path.resolve(opts.parent)
  let parent = opts.parent === undefined ? path.join(base, 'sandproc') : base
  let placement: Placement = opts.parent === undefined ? 'own' : 'parent'
  if (!fs.existsSync(base))
    throw new CgroupUnavailable(
      `${base} does not exist`,
      opts.parent === undefined ? undefined : 'pass an existing cgroup directory as --cgroup-parent',
    )
  if (!v2 && !fs.existsSync(path.join(base, 'memory.limit_in_bytes'))) {
    throw new CgroupUnavailable(
      `${base} has no v1 memory files (kernel without CONFIG_MEMCG_V1, or not a memory cgroup)`,
    )
  }
  if (v2 && opts.parent === undefined) ({ base, parent, placement } = placeV2(layout, base, pid))
  const dir = path.join(parent, `s${pid}-${randomBytes(4).toString('hex')}`)
  // Another supervisor may remove the shared default parent between our mkdirs: retry.
  for (let attempt = 1; ; attempt++) {
    const createdParent = opts.parent === undefined && mkdirOnce(parent)
    try {
      if (v2) enableMemoryNoProcesses(parent)
      fs.mkdirSync(dir)
    } catch (err) {
      if (createdParent) rmdirQuiet(parent)
      if (hasCode(err, 'ENOENT') && opts.parent === undefined && attempt < 3) continue
      throw err
    }
    try {
      if (v2) enableMemoryNoProcesses(dir)
    } catch (err) {
      rmdirQuiet(dir)
      if (opts.parent === undefined) rmdirQuiet(parent)
      throw err
    }
    return {
      mode: layout.mode,
      dir,
      parent,
      parentIsDefault: opts.parent === undefined,
      placement,
      oomReason: oomReason(layout, base, dir),
    }
  }
}

/** Removes the per-supervisor directory (retrying while busy) and an empty default parent. */
export async function removeSupervisorDir(setup: Setup, boundMs = 5000): Promise<void> {
  const deadline = Date.now() + boundMs
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      await fs.promises.rmdir(setup.dir)
      break
    } catch (err) {
      if (hasCode(err, 'ENOENT')) break
      if (!hasCode(err, 'EBUSY') || Date.now() > deadline) throw err
    }
    await delay(wait)
  }
  if (setup.parentIsDefault) {
    await fs.promises.rmdir(setup.parent).catch(() => {
      // Still used by another supervisor, which removes it when it leaves.
    })
  }
}
