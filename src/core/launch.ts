/**
 * The contract between the supervisor, which prepares and spawns a child, and the object
 * that owns it afterwards ({@link SupervisedProcess}, or a layer's own through launchChild).
 */
import type { CgroupCounters } from '../cgroup/index.js'
import type { CodedError } from '../errors.js'
import type { NativeBinding, NativeExitCallback, NativeSpawned, NativeSpawnOptions } from '../native.js'
import type { KilledBy, OutputEncoding } from '../types.js'
import type { Ending } from './ending.js'
import type { Credentials } from './user.js'
import type { Normalized } from './validate.js'
import type { OutputLog } from './retain.js'
import type { SupervisedProcess } from './process.js'

/** The part of a per-process cgroup the process object uses (src/cgroup/manager.ts). */
export interface ProcessCgroupHandle {
  killAll(): Promise<void>
  /** A catchable signal to every process in the cgroup (a timeout's SIGTERM); best effort. */
  signalAll?(sig: number): void
  /** `texts`: what the addon read at the reap (the exit callback's last argument). */
  readCounters(texts?: readonly (string | null)[]): CgroupCounters
  /** True when the reap's reading shows nothing left in the cgroup: no kill pass needed. */
  emptyAtReap(texts?: readonly (string | null)[]): boolean
  release(): Promise<void>
}

/** What the supervisor's launch step hands over once the child exists. */
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

export interface ProcessOptions {
  handle: number
  command: string
  args: string[]
  lineLimit: number
  log: OutputLog | null
  timeoutMs: number | undefined
  /** No byte read for this long ends the process (`idle_timeout`). */
  idleTimeoutMs: number | undefined
  /** SIGTERM to SIGKILL when a clock fires; 0: SIGKILL at once. */
  timeoutGraceMs: number
  /** Lines, or chunks of exact bytes. */
  encoding: OutputEncoding
  /** `max_output_bytes` of a `run`. */
  maxOutputBytes: number | undefined
  /** How long to wait for the pipes after the main process exits (escaped descendants). */
  drainGraceMs: number
  /**
   * Prepares and queues the spawn; `onSpawned` follows asynchronously with the child or
   * the SystemError that kept it from starting. Throws when the preparation fails.
   */
  launch: (onSpawned: (err: CodedError | null, launched?: Launched) => void, onExit: NativeExitCallback) => void
  /** Called once the child exists, before the start event (the supervisor's table). */
  onSpawned?: (proc: SupervisedProcess) => void
  /** The addon, for the pipe readers. */
  native: NativeBinding
}

/** A child started through `ProcessTable.launchChild`, as `close()` sees it. */
export interface ChildOwner {
  readonly exited: Promise<unknown>
  /** Signals the child's process group; false once it is reaped. `by`: who ends it (its exit's `killed_by`). */
  signalGroup(signal: NodeJS.Signals | number, by?: KilledBy): boolean
  /** SIGKILL to the whole tree. */
  killTree(by?: KilledBy): void
}

/** What `ProcessTable.launchChild` starts. */
export interface ChildLaunch {
  /** A validated request (see validate.ts); `timeout` and the stdio modes are the caller's. */
  req: Normalized
  /** Native spawn fields on top of the request's, given the resolved credentials (a terminal). */
  extra?: (creds: Credentials | undefined) => Partial<NativeSpawnOptions>
  /** The child, or the SystemError that kept it from starting. */
  onSpawned: (err: CodedError | null, launched?: Launched) => void
  onExit: NativeExitCallback
}
