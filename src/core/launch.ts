/**
 * The launch of a child: through the admission bound when asked, prepared and spawned
 * (prepare.ts), handed back at once as a {@link Child} whose `spawn` or `fail` follows
 * in a later turn. The table makes the child's owner (a process, a PTY session) around
 * it; nothing calls back into the table.
 */
import type { CgroupCounters } from '../cgroup/index.js'
import type { CodedError } from '../errors.js'
import type { NativeSpawned, NativeSpawnOptions } from '../native.js'
import type { OutputEncoding } from '../types.js'
import type { Admission } from './admission.js'
import { Child } from './child.js'
import type { Ending } from './ending.js'
import type { ChildSpawner } from './prepare.js'
import type { Credentials } from './user.js'
import type { Normalized } from './validate.js'

/** The part of a per-process cgroup a child uses (src/cgroup/manager.ts). */
export interface ProcessCgroupHandle {
  killAll(): Promise<void>
  /** A catchable signal to every process in the cgroup (a timeout's SIGTERM); best effort. */
  signalAll?(sig: number): void
  /** `texts`: what the addon read at the reap (the exit callback's last argument). */
  readCounters(texts?: readonly (string | null)[]): CgroupCounters
  /** True when the reap's reading shows nothing left in the cgroup: no kill pass needed. */
  emptyAtReap(texts?: readonly (string | null)[]): boolean
  release(): Promise<void>
  /** The tree's freezer (docs/freeze.md); null where there is none. */
  readonly freezer?: TreeFreezer | null
}

/** What the process object uses of a cgroup's freezer (src/cgroup/freezer.ts). */
export interface TreeFreezer {
  /** Asked to freeze and not thawed since. */
  readonly frozen: boolean
  /** Resolves once every task of the tree is frozen. */
  freeze(): Promise<void>
  /** Resolves once the tree runs again. */
  thaw(): Promise<void>
  /** Thaws without waiting (after a SIGKILL, so that it is delivered). */
  thawSync(): void
}

/** What the spawn hands over once the child exists. */
export interface Launched {
  spawned: NativeSpawned
  cgroup: ProcessCgroupHandle | null
  /** The credentials the child got. */
  user: { uid: number; gid: number }
  /** A child the old server ran, adopted after a live upgrade (docs/upgrade.md): where it stood. */
  resumed?: ResumedProcess
}

/**
 * Where a running process stood when the old server handed it over (docs/upgrade.md):
 * what its process object had learnt that the kernel does not keep.
 */
export interface ResumedProcess {
  startedAt: number
  /** Ms it had run at the handover (its wall time goes on from there). */
  elapsedMs: number
  /** Per stream still open: bytes read so far and the line in progress. */
  pipes: Partial<Record<'stdout' | 'stderr', { bytes: number; pending: Buffer }>>
  /** What was left of a timeout's grace (SIGTERM sent, SIGKILL to come), ms. */
  graceMs?: number
  ending: Ending | null
  killedBySupervisor: boolean
  treeKilled: boolean
}

/** What a running process hands over (see SupervisedProcess.handover). */
export interface ProcessHandover extends ResumedProcess {
  handle: number
  pid: number
  pidfd: number
  /** stdin, stdout, stderr: -1 where closed or not a pipe. */
  fds: [number, number, number]
  command: string
  args: string[]
  encoding: OutputEncoding
  user: { uid: number; gid: number }
  /** What was left of `timeout`, ms. */
  timeoutMs?: number
  idleTimeoutMs: number | undefined
  timeoutGraceMs: number
  maxOutputBytes: number | undefined
  lineLimit: number
  cgroup: ProcessCgroupHandle | null
}

/** Native spawn fields on top of the request's, given the resolved credentials (stdio, a terminal). */
export type SpawnExtra = (creds: Credentials | undefined) => Partial<NativeSpawnOptions>

export interface LaunchOptions {
  extra?: SpawnExtra
  /** Waits for a slot of the admission bound (run and start; see admission.ts). */
  admit?: boolean
  /** Without a cgroup its tree is its kernel session (see child.ts). */
  sessionTree?: boolean
}

export class Launcher {
  constructor(
    private readonly spawner: ChildSpawner,
    private readonly admission: Admission,
  ) {}

  /**
   * Starts a validated request. A failed preparation (an unknown user, a cgroup write,
   * `extra` itself) comes as the child's `fail`, asynchronously like a failed spawn, so
   * that listeners attached after the launch see it.
   */
  launch(req: Normalized, opts: LaunchOptions = {}): Child {
    const child = new Child({ sessionTree: opts.sessionTree })
    const admitted = opts.admit === true
    const go = (): void =>
      this.spawner.spawn(
        req,
        opts.extra,
        (err, launched) => child.spawned(err, launched),
        child.onExit,
        () => {
          if (admitted) this.admission.leave()
        },
      )
    const failSoon = (err: unknown): void => process.nextTick(() => child.fail(err as CodedError))
    if (!admitted) {
      try {
        go()
      } catch (err) {
        failSoon(err)
      }
      return child
    }
    // Admitted later, in a later turn already: a failure is reported at once.
    const later = (): boolean => {
      try {
        go()
        return true
      } catch (err) {
        child.fail(err as CodedError)
        return false
      }
    }
    if (!this.admission.enter(later)) return child
    try {
      go()
    } catch (err) {
      this.admission.leave()
      failSoon(err)
    }
    return child
  }
}
