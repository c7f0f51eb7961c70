/**
 * One supervised process: its events (`start`, `output`, `exit`, `error`), its async
 * iterator, stdin, signals and ProcessInfo. The supervisor prepares and spawns it;
 * this object owns everything that happens after.
 */
import { constants as os } from 'node:os'

import { coded, type CodedError } from '../errors.js'
import type { NativeBinding } from '../native.js'
import type { ExitEvent, KilledBy, OutputEncoding, OutputEvent, ProcessInfo, StartEvent, StreamName } from '../types.js'
import type { Child } from './child.js'
import { Drain } from './drain.js'
import { ProcessEmitter } from './emitter.js'
import { FreezeControl } from './freeze.js'
import type { ProcessHandover } from './launch.js'
import { ProcessOutput } from './output.js'
import { OutputCap } from './output-cap.js'
import type { OutputLog } from './retain.js'
import { statusOf } from './status.js'
import { StdinPipe } from './stdin.js'
import { ProcessTimeouts } from './timeouts.js'

export type { ProcessHandover } from './launch.js'

const noop = (): void => {}

/** What the table gives a process besides its {@link Child}. */
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
  /** The addon, for the pipe readers. */
  native: NativeBinding
  /** Why no tree can be frozen here (`capabilities.controllers.freezer.reason`); undefined when it can. */
  freezeUnavailable?: string
}

/**
 * A process started by a {@link Supervisor}. Emits `start` (asynchronously, after
 * `run`/`start` return), `output` per line (every line of one read chunk in one tick),
 * `exit` once the main process is reaped and both pipes are drained, or `error` (only
 * when listened to) if the program could not start. Also async-iterable over the same
 * event objects, ending with the exit event.
 */
export class SupervisedProcess extends ProcessEmitter {
  /** Counts up from 1 per supervisor. */
  readonly handle: number
  /** OS pid; 0 if the program never started. */
  pid = 0
  readonly command: string
  readonly args: string[]
  /** How its output is delivered: lines, or chunks of exact bytes (`output_encoding`). */
  readonly encoding: OutputEncoding
  /** Retained output (for `start`ed processes), else null. */
  readonly log: OutputLog | null
  /** The child: pidfd, cgroup, signals, the reap (what a handover reads from outside). */
  readonly child: Child

  #endedAt: number | null = null
  #exit: ExitEvent | null = null
  readonly #output: ProcessOutput
  readonly #drain: Drain
  #stdin: StdinPipe | null = null
  readonly #clocks: ProcessTimeouts
  /** `max_output_bytes`: what goes out live and what is kept for the end; null without one. */
  readonly #cap: OutputCap | null
  /** The tree was killed: once reaped, a paused consumer no longer holds the exit. */
  #treeKilled = false
  #refed = true
  readonly #freeze: FreezeControl
  readonly #opts: ProcessOptions

  /** Made by the table around a child it just launched (launch.ts). */
  constructor(opts: ProcessOptions, child: Child) {
    super()
    this.#opts = opts
    this.handle = opts.handle
    this.command = opts.command
    this.args = opts.args
    this.encoding = opts.encoding
    this.log = opts.log
    this.child = child

    this.#cap = opts.maxOutputBytes === undefined ? null : new OutputCap(opts.maxOutputBytes)
    this.#clocks = new ProcessTimeouts(
      { timeoutMs: opts.timeoutMs, idleTimeoutMs: opts.idleTimeoutMs, graceMs: opts.timeoutGraceMs },
      {
        fire: (reason) => child.ending.record({ reason }),
        term: () => child.signalTree(os.signals.SIGTERM),
        kill: () => void child.killTree(),
      },
    )
    this.#output = new ProcessOutput({
      native: opts.native,
      lineLimit: opts.lineLimit,
      encoding: opts.encoding,
      onData: () => {
        this.#clocks.noteData()
        this.#drain.noteData()
      },
      onLine: this.#onLine,
      onEnd: () => {
        if (this.#output.ended) this.#drain.outputEnded()
      },
    })
    this.#drain = new Drain(opts.drainGraceMs, 'reap', {
      paused: () => this.#output.held,
      killRest: this.#killRest,
      giveUp: () => this.#output.giveUp(),
      finish: () => this.#finish(),
    })
    this.#freeze = new FreezeControl({
      pid: () => this.pid,
      alive: () => child.alive,
      freezer: () => child.cgroup?.freezer ?? null,
      clocks: this.#clocks,
      unavailable: opts.freezeUnavailable,
    })
    child.on('thaw', () => this.#clocks.thaw())
    child.on('spawn', () => this.deliverStart(this.#attach()))
    child.on('fail', (err: CodedError) => this.deliverError(err))
    child.on('reap', this.#onReap)
    child.on('killTree', this.#onKillTree)
  }

  /** The child exists: take over its pipes. Returns the start event. */
  #attach(): StartEvent {
    const child = this.child
    this.pid = child.pid
    const [stdinFd, stdoutFd, stderrFd] = child.fds
    if (stdinFd >= 0) this.#stdin = new StdinPipe(stdinFd)
    this.#output.open(stdoutFd, stderrFd, child.startedAt)
    const resumed = child.resumed
    if (resumed !== null) {
      // A child the old server ran (docs/upgrade.md): its lines in progress go on.
      this.#output.continueFrom(resumed.pipes)
      this.#treeKilled = resumed.treeKilled
    }
    if (resumed?.graceMs === undefined) this.#clocks.start()
    else this.#clocks.resumeGrace(resumed.graceMs)
    if (!this.#refed) this.#applyRef()
    return { handle: this.handle, pid: this.pid, started_at: child.startedAt }
  }

  /**
   * What a live upgrade hands over (docs/upgrade.md), read in the same tick as the
   * execve, so no read happens in between. Null unless the child runs and is unreaped.
   */
  handover(): ProcessHandover | null {
    const child = this.child
    if (!child.alive || this.#exit !== null) return null
    const pidfd = this.#opts.native.childPidfd(child.pidfd!)
    if (pidfd < 0) return null
    const pipes = this.#output.handover()
    const { timeoutMs, graceMs } = this.#clocks.remaining()
    const o = this.#opts
    return {
      handle: this.handle,
      pid: this.pid,
      pidfd,
      fds: [
        this.#stdin?.fd ?? -1,
        pipes.stdout === undefined ? -1 : child.fds[1],
        pipes.stderr === undefined ? -1 : child.fds[2],
      ],
      command: this.command,
      args: this.args,
      encoding: this.encoding,
      user: child.user ?? { uid: 0, gid: 0 },
      startedAt: child.startedAt,
      elapsedMs: child.elapsedMs,
      pipes,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(graceMs === undefined ? {} : { graceMs }),
      ending: child.ending.current,
      killedBySupervisor: child.killedBySupervisor,
      treeKilled: this.#treeKilled,
      idleTimeoutMs: o.idleTimeoutMs,
      timeoutGraceMs: o.timeoutGraceMs,
      maxOutputBytes: o.maxOutputBytes,
      lineLimit: o.lineLimit,
      cgroup: child.cgroup,
    }
  }

  /**
   * A process that had ended in the old program of a live upgrade (docs/upgrade.md),
   * made around a child that holds its pid, user and start time: its start and exit are
   * facts already, for `info()`, `started`, `exited` and its retained log.
   */
  restoreEnded(exit: ExitEvent, endedAt: number): void {
    this.pid = this.child.pid
    this.#endedAt = endedAt
    this.#exit = exit
    this.log?.end()
    this.deliverStart({ handle: this.handle, pid: this.pid, started_at: this.child.startedAt })
    this.deliverExit(exit)
  }

  /** Current ProcessInfo (docs/protocol.md "Endpoints"). */
  info(): ProcessInfo {
    const e = this.#exit
    return {
      handle: this.handle,
      pid: this.pid,
      status: statusOf(e),
      exit_code: e?.exit_code ?? null,
      signal: e?.signal ?? null,
      oom_killed: e?.oom_killed === true,
      stdin_writable: this.stdinWritable,
      command: this.command,
      args: this.args,
      started_at: this.child.startedAt,
      ended_at: this.#endedAt,
      reason: e?.reason ?? null,
      ...(e?.killed_by === undefined ? {} : { killed_by: e.killed_by }),
      ...(this.#freeze.frozen && e === null ? { frozen: true } : {}),
      ...(e?.pids_limit_hits === undefined ? {} : { pids_limit_hits: e.pids_limit_hits }),
      user: this.child.user,
      timed_out: e?.timed_out === true,
      usage: e?.usage ?? null,
    }
  }

  /** True while the spawn is queued: neither started nor failed yet. */
  get pending(): boolean {
    return this.child.pending
  }

  /** True until the exit event was emitted (false for a process that failed to start). */
  get running(): boolean {
    return this.#exit === null && this.child.error === null
  }

  /** The exit event, once emitted. */
  get exitEvent(): ExitEvent | null {
    return this.#exit
  }

  /** Bytes read from the child's `stream` so far (all of them, retained or not). */
  outputBytes(stream: StreamName): number {
    return this.#output.bytesRead(stream)
  }

  get stdinWritable(): boolean {
    return this.#stdin !== null && this.#stdin.writable && this.child.reaped === null
  }

  /** Writes to stdin; resolves once the bytes are in the pipe. Rejects with code STDIN_NOT_WRITABLE. */
  write(data: string | Uint8Array): Promise<void> {
    // Written before the spawn completed: in order, once it has (a failed spawn rejects).
    if (this.pending) return this.started.then(() => this.write(data))
    const stdin = this.#stdin
    if (stdin === null || !this.stdinWritable) {
      return Promise.reject(coded(`stdin of process ${this.pid} is not writable`, 'STDIN_NOT_WRITABLE'))
    }
    return stdin.write(data)
  }

  /** Closes stdin (EOF for the child). Idempotent. */
  closeStdin(): void {
    if (this.pending) {
      this.started.then(() => this.closeStdin(), noop)
      return
    }
    this.#stdin?.end()
  }

  /**
   * Stops the whole tree through its cgroup's freezer (docs/freeze.md); resolves once the
   * kernel confirms every task is frozen. The clocks (`timeout`, `idle_timeout`) stop
   * with it. Freezing a frozen process does nothing. Rejects with code
   * `FREEZE_UNAVAILABLE` where there is no freezer, `PROCESS_NOT_RUNNING` once it has exited.
   */
  freeze(): Promise<void> {
    if (this.pending) return this.started.then(() => this.freeze())
    return this.#freeze.freeze()
  }

  /** Resumes a frozen tree; its clocks go on with the time they had left. Thawing a running process does nothing. */
  thaw(): Promise<void> {
    if (this.pending) return this.started.then(() => this.thaw())
    return this.#freeze.thaw()
  }

  /** True while the tree is frozen (ProcessInfo `frozen`). */
  get frozen(): boolean {
    return this.#freeze.frozen
  }

  /**
   * Sends a signal to the main process (through its pidfd: a reused pid is never hit).
   * Returns false once it has exited. A SIGKILL sent here is never reported as an OOM kill.
   * A frozen tree gets other signals when it is thawed; a SIGKILL thaws it (docs/freeze.md).
   */
  kill(signal: NodeJS.Signals | number = 'SIGKILL'): boolean {
    return this.child.signal(signal)
  }

  /**
   * SIGKILL to the whole tree: the process group and everything in the process's cgroup.
   * `by` is the `killed_by` its exit reports (default `"api"`).
   */
  killTree(by: KilledBy = 'api'): void {
    if (this.#exit !== null) return
    void this.child.killTree(by)
  }

  /**
   * Signals the process group to end it (graceful shutdown, a managed restart); `by` is
   * the `killed_by` its exit reports.
   */
  signalGroup(signal: NodeJS.Signals | number, by: KilledBy = 'api'): boolean {
    if (this.pending) return false
    return this.child.signalGroup(signal, by)
  }

  /** Stops reading the pipes, so a slow consumer slows the process. Each pause needs a resume. */
  pause(): void {
    this.#output.pause()
    this.#clocks.pause()
  }

  resume(): void {
    this.#output.resume()
    if (!this.#output.paused) this.#clocks.resume()
  }

  /** Keeps (ref) or stops keeping (unref) the event loop alive for this process. */
  ref(): void {
    this.#refed = true
    this.#applyRef()
  }

  unref(): void {
    this.#refed = false
    this.#applyRef()
  }

  // Also applied when the child comes into existence, so unref() may come first.
  #applyRef(): void {
    if (this.#refed) this.child.ref()
    else this.child.unref()
    this.#output.setRef(this.#refed)
    this.#clocks.setRef(this.#refed)
  }

  #onLine = (ev: OutputEvent): void => {
    this.log?.push(ev)
    if (this.#cap === null || this.#cap.admit(ev)) this.deliverOutput(ev)
  }

  #onKillTree = (killed: Promise<void>): void => {
    if (this.child.pending) return
    this.#treeKilled = true
    // Reaped already, its exit held by pipes a consumer paused: the tree is dead now.
    if (this.child.reaped !== null) void killed.then(() => this.#output.readToEnd())
  }

  #onReap = (): void => {
    this.#clocks.reaped()
    this.#endedAt = Date.now()
    this.#stdin?.destroy()
    // Both pipes may have ended already (or never existed).
    if (this.#output.ended) this.#drain.outputEnded()
    this.#drain.reap()
  }

  // Descendants that left the process group are still in the cgroup. Usually it was
  // empty at the reap, and the exit need not wait for a kill pass.
  #killRest = async (): Promise<void> => {
    if (!this.child.emptyAtReap) await this.child.killRest()
    if (this.#treeKilled) this.#output.readToEnd()
  }

  #finish(): void {
    this.#clocks.clear()
    const ev = this.child.exitEvent()
    if (this.#cap !== null) {
      const { dropped, tail } = this.#cap.drain()
      for (const d of dropped) this.deliverDropped(d)
      for (const line of tail) this.deliverOutput(line)
      if (dropped.length > 0) ev.truncated = true
    }
    this.#exit = ev
    this.log?.end()
    this.deliverExit(ev)
    this.child.end()
  }
}
