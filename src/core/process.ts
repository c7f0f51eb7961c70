/**
 * One supervised process: its events (`start`, `output`, `exit`, `error`), its async
 * iterator, stdin, signals and ProcessInfo. The supervisor prepares and spawns it;
 * this object owns everything that happens after.
 */
import { EventEmitter } from 'node:events'
import net from 'node:net'
import { constants as os } from 'node:os'

import { coded, type CodedError } from '../errors.js'
import { EventQueue } from './event-queue.js'
import { exitEvent, type Reaped } from './exit.js'
import { LineSplitter } from './lines.js'
import type { NativeBinding, NativeChild, NativeExitCallback, NativeSpawned } from '../native.js'
import type { OutputLog } from './retain.js'
import { OutputPipe } from './pipe.js'
import { signalNumber } from './signals.js'
import type { ExitEvent, OutputEvent, ProcessEvent, ProcessInfo, StartEvent, StreamName } from '../types.js'

/** The part of a per-process cgroup the process object uses (src/cgroup/manager.ts). */
export interface ProcessCgroupHandle {
  killAll(): Promise<void>
  readCounters(): { oomKills: number | null; memoryPeak: number | null }
  release(): Promise<void>
}

/** What the supervisor's launch step hands over once the child exists. */
export interface Launched {
  spawned: NativeSpawned
  cgroup: ProcessCgroupHandle | null
}

export interface ProcessOptions {
  handle: number
  command: string
  args: string[]
  lineLimit: number
  log: OutputLog | null
  timeoutMs: number | undefined
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

const noop = (): void => {}

/**
 * A process started by a {@link Supervisor}. Emits `start` (asynchronously, after
 * `run`/`start` return), `output` per line (every line of one read chunk in one tick),
 * `exit` once the main process is reaped and both pipes are drained, or `error` (only
 * when listened to) if the program could not start. Also async-iterable over the same
 * event objects, ending with the exit event.
 */
export class SupervisedProcess extends EventEmitter implements AsyncIterable<ProcessEvent> {
  /** Counts up from 1 per supervisor. */
  readonly handle: number
  /** OS pid; 0 if the program never started. */
  pid = 0
  readonly command: string
  readonly args: string[]
  /** Resolves with the start event; rejects with the spawn error (never unhandled). */
  readonly started: Promise<StartEvent>
  /** Resolves with the exit event; rejects with the spawn error (never unhandled). */
  readonly exited: Promise<ExitEvent>
  /** Retained output (for `start`ed processes), else null. */
  readonly log: OutputLog | null

  #startedAt = 0
  #startedMono = 0
  #endedAt: number | null = null
  #exit: ExitEvent | null = null
  #error: CodedError | null = null
  #child: NativeChild | null = null
  #cgroup: ProcessCgroupHandle | null = null
  #pipes: OutputPipe[] = []
  #stdin: net.Socket | null = null
  #killedBySupervisor = false
  #timedOut = false
  #timer: NodeJS.Timeout | null = null
  #reaped: Reaped | null = null
  #drainTimer: NodeJS.Timeout | null = null
  #lastTs = 0
  #waiters = new Set<EventQueue>()
  #pauses = 0

  constructor(opts: ProcessOptions) {
    super()
    this.handle = opts.handle
    this.command = opts.command
    this.args = opts.args
    this.log = opts.log
    let resolveStart!: (e: StartEvent) => void, rejectStart!: (e: Error) => void
    let resolveExit!: (e: ExitEvent) => void, rejectExit!: (e: Error) => void
    this.started = new Promise((res, rej) => ((resolveStart = res), (rejectStart = rej)))
    this.exited = new Promise((res, rej) => ((resolveExit = res), (rejectExit = rej)))
    // A caller may use only events or only iteration: these must never crash it.
    this.started.catch(noop)
    this.exited.catch(noop)
    this.once('_exit', resolveExit)

    this.#lineLimit = opts.lineLimit
    this.#native = opts.native
    this.#timeoutMs = opts.timeoutMs
    this.#drainGraceMs = opts.drainGraceMs
    this.#onSpawnedHook = opts.onSpawned
    const fail = (err: CodedError): void => {
      this.#error = err
      rejectStart(err)
      rejectExit(err)
      for (const w of this.#waiters) w.push(err)
      if (this.listenerCount('error') > 0) this.emit('error', err)
    }
    const spawned = (err: CodedError | null, launched?: Launched): void => {
      if (err !== null || launched === undefined) return fail(err ?? coded('spawn failed', 'EIO'))
      const start = this.#attach(launched)
      resolveStart(start)
      this.#deliver('start', start)
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
  #attach({ spawned, cgroup }: Launched): StartEvent {
    this.pid = spawned.pid
    this.#child = spawned.child
    this.#cgroup = cgroup
    this.#startedAt = Date.now()
    this.#startedMono = performance.now()
    this.#lastTs = this.#startedAt
    const [stdinFd, stdoutFd, stderrFd] = spawned.fds
    if (stdinFd >= 0) {
      this.#stdin = new net.Socket({ fd: stdinFd, readable: false, writable: true })
      // EPIPE once the child stops reading is normal; writes report it themselves.
      this.#stdin.on('error', noop)
    }
    const streams: Array<[number, StreamName]> = [[stdoutFd, 'stdout'], [stderrFd, 'stderr']]
    for (const [fd, name] of streams) {
      if (fd < 0) continue
      const pipe = new OutputPipe(this.#native, fd, name, new LineSplitter(this.#lineLimit), this.#onLine, this.#onPipeEnd, this.#now)
      if (this.#pauses > 0) pipe.pause()
      this.#pipes.push(pipe)
    }
    if (this.#timeoutMs !== undefined) {
      this.#timer = setTimeout(() => {
        this.#timedOut = true
        this.killTree()
      }, this.#timeoutMs)
    }
    if (!this.#refed) this.#applyRef()
    this.#onSpawnedHook?.(this)
    // killTree() before the child existed (close(), a client gone): honour it now.
    if (this.#killPending) this.killTree()
    return { handle: this.handle, pid: this.pid, started_at: this.#startedAt }
  }

  #lineLimit: number
  #native: NativeBinding
  #timeoutMs: number | undefined
  #onSpawnedHook: ((proc: SupervisedProcess) => void) | undefined
  #killPending = false
  #refed = true
  #drainGraceMs = 0
  #sawData = false

  /** Current ProcessInfo (spec §2). */
  info(): ProcessInfo {
    const e = this.#exit
    let status: ProcessInfo['status'] = 'running'
    if (e !== null) status = e.oom_killed === true ? 'oom_killed' : e.exit_code !== undefined ? 'exited' : 'signaled'
    return {
      handle: this.handle,
      pid: this.pid,
      status,
      exit_code: e?.exit_code ?? null,
      signal: e?.signal ?? null,
      oom_killed: e?.oom_killed === true,
      stdin_writable: this.stdinWritable,
      command: this.command,
      args: this.args,
      started_at: this.#startedAt,
      ended_at: this.#endedAt,
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
    return new Promise((resolve, reject) => {
      stdin.write(data, (err) => (err ? reject(err) : resolve()))
    })
  }

  /** Closes stdin (EOF for the child). Idempotent. */
  closeStdin(): void {
    if (this.pending) {
      this.started.then(() => this.closeStdin(), noop)
      return
    }
    if (this.#stdin !== null && !this.#stdin.writableEnded) this.#stdin.end()
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
    return this.#child.signal(sig)
  }

  /** SIGKILL to the whole tree: the process group and everything in the process's cgroup. */
  killTree(): void {
    if (this.#error !== null || this.#exit !== null) return
    if (this.#child === null) {
      this.#killPending = true
      return
    }
    if (this.#reaped === null) {
      this.#killedBySupervisor = true
      this.#child.killGroup(os.signals.SIGKILL)
      this.#child.signal(os.signals.SIGKILL)
    }
    this.#cgroup?.killAll().catch(noop)
  }

  /** Signals the process group (used for graceful shutdown). */
  signalGroup(signal: NodeJS.Signals | number): boolean {
    const sig = signalNumber(signal)
    if (this.#child === null || this.#reaped !== null) return false
    if (sig === os.signals.SIGKILL) this.#killedBySupervisor = true
    return this.#child.killGroup(sig)
  }

  /** Stops reading the pipes, so a slow consumer slows the process. Each pause needs a resume. */
  pause(): void {
    if (this.#pauses++ === 0) for (const p of this.#pipes) p.pause()
  }

  resume(): void {
    if (this.#pauses === 0) return
    if (--this.#pauses === 0) for (const p of this.#pipes) p.resume()
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
    for (const p of this.#pipes) p[how]()
    this.#timer?.[how]()
  }

  [Symbol.asyncIterator](): AsyncIterator<ProcessEvent> {
    const queue: EventQueue = new EventQueue({
      pause: () => this.pause(),
      resume: () => this.resume(),
      isLast: (ev) => ev === this.#exit,
      onFinish: () => this.#waiters.delete(queue),
    })
    // Created after the exit: the sequence still ends with the exit event (the earlier
    // events are gone; `log` keeps the output of start()ed processes).
    if (this.#error !== null) queue.push(this.#error)
    else if (this.#exit !== null) queue.push(this.#exit)
    else this.#waiters.add(queue)
    return queue
  }

  #deliver(name: 'start' | 'output' | 'exit', ev: ProcessEvent): void {
    for (const w of this.#waiters) w.push(ev)
    this.emit(name, ev)
  }

  #onLine = (line: string, stream: StreamName, now: number): void => {
    const ev: OutputEvent = { line, timestamp: now, stream }
    this.log?.push(ev)
    this.#deliver('output', ev)
  }

  /** One timestamp per read chunk, never going backwards. */
  #now = (): number => {
    this.#sawData = true
    const t = Date.now()
    if (t > this.#lastTs) this.#lastTs = t
    return this.#lastTs
  }

  #onPipeEnd = (): void => {
    this.#maybeFinish()
  }

  #onExit: NativeExitCallback = (code, signal, userUs, sysUs) => {
    if (this.#timer !== null) clearTimeout(this.#timer)
    // Counters right after the reap: the kernel raises oom_kill before it sends SIGKILL,
    // so an OOM kill of the main process is always visible here.
    let counters: { oomKills: number | null; memoryPeak: number | null } = { oomKills: null, memoryPeak: null }
    try {
      if (this.#cgroup !== null) counters = this.#cgroup.readCounters()
    } catch {
      // A counter we cannot read is a counter we do not claim anything from.
    }
    const wallMs = Math.round((performance.now() - this.#startedMono) * 1000) / 1000
    this.#reaped = { code, signal, userUs, sysUs, wallMs, oomKills: counters.oomKills, peak: counters.memoryPeak }
    this.#endedAt = Date.now()
    this.#stdin?.destroy()
    // Descendants that left the process group are still in the cgroup.
    const killed = this.#cgroup?.killAll() ?? Promise.resolve()
    killed.catch(noop).then(() => {
      if (this.#exit !== null) return
      this.#armDrain()
      this.#maybeFinish()
    })
  }

  // Something that escaped both the group and the cgroup may hold a pipe open forever:
  // give up on the pipes once they stay idle for the grace period. Never while paused or
  // while bytes still flow, so a slow consumer loses nothing.
  #armDrain(): void {
    this.#sawData = false
    this.#drainTimer = setTimeout(() => {
      if (this.#exit !== null) return
      if (this.#pauses > 0 || this.#sawData) return this.#armDrain()
      for (const p of this.#pipes) p.destroy()
      this.#maybeFinish()
    }, this.#drainGraceMs)
    this.#drainTimer.unref()
  }

  #maybeFinish(): void {
    const r = this.#reaped
    if (r === null || this.#exit !== null || this.#pipes.some((p) => !p.ended)) return
    if (this.#drainTimer !== null) clearTimeout(this.#drainTimer)
    const ev = exitEvent(r, { killedBySupervisor: this.#killedBySupervisor, timedOut: this.#timedOut })
    this.#exit = ev
    this.log?.end()
    this.#deliver('exit', ev)
    this.emit('_exit', ev)
    this.#cgroup?.release().catch(noop)
  }
}
