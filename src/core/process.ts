/**
 * One supervised process: its events (`start`, `output`, `exit`, `error`), its async
 * iterator, stdin, signals and ProcessInfo. The supervisor prepares and spawns it;
 * this object owns everything that happens after.
 */
import { constants as os } from 'node:os'

import { coded, type CodedError } from '../errors.js'
import type { NativeChild, NativeExitCallback } from '../native.js'
import type { ExitEvent, KilledBy, OutputEncoding, OutputEvent, ProcessInfo, StartEvent, StreamName } from '../types.js'
import { ProcessEmitter } from './emitter.js'
import { EndingRecord } from './ending.js'
import { exitEvent, type Reaped } from './exit.js'
import type { Launched, ProcessCgroupHandle, ProcessHandover, ProcessOptions } from './launch.js'
import { ProcessOutput } from './output.js'
import { reapedOf } from './reap.js'
import { OutputCap } from './output-cap.js'
import type { OutputLog } from './retain.js'
import { signalNumber } from './signals.js'
import { statusOf } from './status.js'
import { StdinPipe } from './stdin.js'
import { ProcessTimeouts } from './timeouts.js'

export type { Launched, ProcessCgroupHandle, ProcessHandover, ProcessOptions } from './launch.js'

const noop = (): void => {}

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

  #startedAt = 0
  #startedMono = 0
  #endedAt: number | null = null
  #exit: ExitEvent | null = null
  #error: CodedError | null = null
  #child: NativeChild | null = null
  #cgroup: ProcessCgroupHandle | null = null
  readonly #output: ProcessOutput
  #stdin: StdinPipe | null = null
  #killedBySupervisor = false
  readonly #ending = new EndingRecord()
  readonly #clocks: ProcessTimeouts
  /** `max_output_bytes`: what goes out live and what is kept for the end; null without one. */
  readonly #cap: OutputCap | null
  #reaped: Reaped | null = null
  #user: { uid: number; gid: number } | null = null
  #fds: [number, number, number] = [-1, -1, -1]
  readonly #opts: ProcessOptions

  constructor(opts: ProcessOptions) {
    super()
    this.#opts = opts
    this.handle = opts.handle
    this.command = opts.command
    this.args = opts.args
    this.encoding = opts.encoding
    this.log = opts.log

    this.#cap = opts.maxOutputBytes === undefined ? null : new OutputCap(opts.maxOutputBytes)
    this.#clocks = new ProcessTimeouts(
      { timeoutMs: opts.timeoutMs, idleTimeoutMs: opts.idleTimeoutMs, graceMs: opts.timeoutGraceMs },
      {
        fire: (reason) => this.#ending.record({ reason }),
        term: () => this.#signalTree(os.signals.SIGTERM),
        kill: () => this.#killTree(),
      },
    )
    this.#output = new ProcessOutput({
      native: opts.native,
      lineLimit: opts.lineLimit,
      encoding: opts.encoding,
      drainGraceMs: opts.drainGraceMs,
      onData: () => this.#clocks.noteData(),
      onLine: this.#onLine,
      onEnd: () => this.#maybeFinish(),
    })
    this.#onSpawnedHook = opts.onSpawned
    const fail = (err: CodedError): void => {
      this.#error = err
      this.deliverError(err)
    }
    const spawned = (err: CodedError | null, launched?: Launched): void => {
      if (err !== null || launched === undefined) return fail(err ?? coded('spawn failed', 'EIO'))
      this.deliverStart(this.#attach(launched))
    }
    try {
      opts.launch(spawned, this.#onExit)
    } catch (err) {
      // Failures of the preparation (an unknown user, a cgroup write) are reported like
      // spawn failures, and asynchronously too, so listeners attached after run() see them.
      process.nextTick(fail, err as CodedError)
    }
  }

  /** The child exists: take over its pipes, pidfd and cgroup. Returns the start event. */
  #attach({ spawned, cgroup, user, resumed }: Launched): StartEvent {
    this.pid = spawned.pid
    this.#user = user
    this.#child = spawned.child
    this.#cgroup = cgroup
    this.#fds = spawned.fds
    this.#startedAt = resumed?.startedAt ?? Date.now()
    this.#startedMono = performance.now() - (resumed?.elapsedMs ?? 0)
    const [stdinFd, stdoutFd, stderrFd] = spawned.fds
    if (stdinFd >= 0) this.#stdin = new StdinPipe(stdinFd)
    this.#output.open(stdoutFd, stderrFd, this.#startedAt)
    if (resumed !== undefined) {
      // A child the old server ran (docs/upgrade.md): its lines in progress and endings go on.
      this.#output.continueFrom(resumed.pipes)
      if (resumed.ending !== null) this.#ending.record(resumed.ending)
      this.#killedBySupervisor = resumed.killedBySupervisor
      this.#treeKilled = resumed.treeKilled
    }
    if (resumed?.graceMs === undefined) this.#clocks.start()
    else this.#clocks.resumeGrace(resumed.graceMs)
    if (!this.#refed) this.#applyRef()
    this.#onSpawnedHook?.(this)
    // killTree() before the child existed (close(), a client gone): honour it now.
    if (this.#killPending) this.#killTree()
    return { handle: this.handle, pid: this.pid, started_at: this.#startedAt }
  }

  #onSpawnedHook: ((proc: SupervisedProcess) => void) | undefined
  #killPending = false
  /** killTree() was called: once reaped, a paused consumer no longer holds the exit. */
  #treeKilled = false
  #refed = true

  /**
   * What a live upgrade hands over (docs/upgrade.md), read in the same tick as the
   * execve, so no read happens in between. Null unless the child runs and is unreaped.
   */
  handover(): ProcessHandover | null {
    if (this.#child === null || this.#reaped !== null || this.#exit !== null) return null
    const pidfd = this.#opts.native.childPidfd(this.#child)
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
        pipes.stdout === undefined ? -1 : this.#fds[1],
        pipes.stderr === undefined ? -1 : this.#fds[2],
      ],
      command: this.command,
      args: this.args,
      encoding: this.encoding,
      user: this.#user ?? { uid: 0, gid: 0 },
      startedAt: this.#startedAt,
      elapsedMs: performance.now() - this.#startedMono,
      pipes,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(graceMs === undefined ? {} : { graceMs }),
      ending: this.#ending.current,
      killedBySupervisor: this.#killedBySupervisor,
      treeKilled: this.#treeKilled,
      idleTimeoutMs: o.idleTimeoutMs,
      timeoutGraceMs: o.timeoutGraceMs,
      maxOutputBytes: o.maxOutputBytes,
      lineLimit: o.lineLimit,
      cgroup: this.#cgroup,
    }
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
      started_at: this.#startedAt,
      ended_at: this.#endedAt,
      reason: e?.reason ?? null,
      ...(e?.killed_by === undefined ? {} : { killed_by: e.killed_by }),
      ...(e?.pids_limit_hits === undefined ? {} : { pids_limit_hits: e.pids_limit_hits }),
      user: this.#user,
      timed_out: e?.timed_out === true,
      usage: e?.usage ?? null,
    }
  }

  /** True while the spawn is queued: neither started nor failed yet. */
  get pending(): boolean {
    return this.#child === null && this.#error === null
  }

  /** True until the exit event was emitted (false for a process that failed to start). */
  get running(): boolean {
    return this.#exit === null && this.#error === null
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
    return this.#stdin !== null && this.#stdin.writable && this.#reaped === null
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
   * Sends a signal to the main process (through its pidfd: a reused pid is never hit).
   * Returns false once it has exited. A SIGKILL sent here is never reported as an OOM kill.
   */
  kill(signal: NodeJS.Signals | number = 'SIGKILL'): boolean {
    const sig = signalNumber(signal)
    if (this.pending) {
      // Delivered the moment the child exists.
      this.started.then(() => this.kill(sig), noop)
      return true
    }
    if (this.#child === null || this.#reaped !== null) return false
    if (sig === os.signals.SIGKILL) this.#killedBySupervisor = true
    // The program may handle the signal and go on: it is the reason only if it ends it.
    this.#ending.record({ reason: 'killed', killedBy: 'api', onlyIfSignal: sig })
    return this.#child.signal(sig)
  }

  /**
   * SIGKILL to the whole tree: the process group and everything in the process's cgroup.
   * `by` is the `killed_by` its exit reports (default `"api"`).
   */
  killTree(by: KilledBy = 'api'): void {
    if (this.#error !== null || this.#exit !== null) return
    this.#ending.record({ reason: 'killed', killedBy: by })
    this.#killTree()
  }

  /** SIGTERM (or another catchable signal) to the process group and the rest of its cgroup. */
  #signalTree(sig: number): void {
    if (this.#child !== null && this.#reaped === null) this.#child.killGroup(sig)
    this.#cgroup?.signalAll?.(sig)
  }

  #killTree(): void {
    if (this.#error !== null || this.#exit !== null) return
    if (this.#child === null) {
      this.#killPending = true
      return
    }
    this.#treeKilled = true
    if (this.#reaped === null) {
      this.#killedBySupervisor = true
      this.#child.killGroup(os.signals.SIGKILL)
      this.#child.signal(os.signals.SIGKILL)
    }
    const killed = this.#cgroup?.killAll().catch(noop)
    // Reaped already, its exit held by pipes a consumer paused: the tree is dead now.
    if (this.#reaped !== null) void Promise.resolve(killed).then(() => this.#output.readToEnd())
  }

  /**
   * Signals the process group to end it (graceful shutdown, a managed restart); `by` is
   * the `killed_by` its exit reports.
   */
  signalGroup(signal: NodeJS.Signals | number, by: KilledBy = 'api'): boolean {
    const sig = signalNumber(signal)
    if (this.#child === null || this.#reaped !== null) return false
    if (sig === os.signals.SIGKILL) this.#killedBySupervisor = true
    this.#ending.record({ reason: 'killed', killedBy: by })
    return this.#child.killGroup(sig)
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
    const how = this.#refed ? 'ref' : 'unref'
    this.#child?.[how]()
    this.#output.setRef(this.#refed)
    this.#clocks.setRef(this.#refed)
  }

  #onLine = (ev: OutputEvent): void => {
    this.log?.push(ev)
    if (this.#cap === null || this.#cap.admit(ev)) this.deliverOutput(ev)
  }

  #onExit: NativeExitCallback = (code, signal, userUs, sysUs, texts) => {
    this.#clocks.reaped()
    this.#reaped = reapedOf(this.#cgroup, this.#startedMono, code, signal, userUs, sysUs, texts)
    this.#endedAt = Date.now()
    this.#stdin?.destroy()
    // Descendants that left the process group are still in the cgroup. Usually it was
    // empty at the reap, and the exit need not wait for a kill pass.
    if (this.#cgroup === null || this.#cgroup.emptyAtReap(texts)) return this.#afterKill()
    this.#cgroup.killAll().catch(noop).then(this.#afterKill)
  }

  #afterKill = (): void => {
    if (this.#exit !== null) return
    if (this.#treeKilled) this.#output.readToEnd()
    this.#output.afterReap()
    this.#maybeFinish()
  }

  #maybeFinish(): void {
    const r = this.#reaped
    if (r === null || this.#exit !== null || !this.#output.ended) return
    this.#output.finish()
    this.#clocks.clear()
    const ev = exitEvent(r, { killedBySupervisor: this.#killedBySupervisor, ending: this.#ending.current })
    if (this.#cap !== null) {
      const { dropped, tail } = this.#cap.drain()
      for (const d of dropped) this.deliverDropped(d)
      for (const line of tail) this.deliverOutput(line)
      if (dropped.length > 0) ev.truncated = true
    }
    this.#exit = ev
    this.log?.end()
    this.deliverExit(ev)
    this.#cgroup?.release().catch(noop)
  }
}
