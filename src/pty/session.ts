/**
 * One program on a pseudo-terminal, started on the core's spawn path (credentials,
 * cgroup, memory limit, exit watch) with the pty slave as its controlling terminal.
 * Shaped for node-pty users: `data` Buffers, `write`, `resize(cols, rows)`, `kill`,
 * `pause`/`resume`, and one `exit` event in the shape of a process's, after the last byte.
 */
import { EventEmitter } from 'node:events'
import fs from 'node:fs'

import { Child } from '../core/child.js'
import { Drain } from '../core/drain.js'
import type { Launched } from '../core/launch.js'
import type { ProcessTable } from '../core/table.js'
import { coded, type CodedError } from '../errors.js'
import type { NativeBinding, NativePipeReader, NativePty } from '../native.js'
import type { ExitEvent, KilledBy } from '../types.js'
import { colsOf, normalizePty, rowsOf, type PtyRequest } from './request.js'
import { TerminalInput } from './input.js'

const noop = (): void => {}

const RESUMED = Symbol('resumed')

/** A session handed over by a live upgrade (src/handover/pty-state.ts). */
export interface ResumedPty {
  [RESUMED]: true
  req: { command: string; args: string[] }
  rows: number
  cols: number
  createdAt: number
  /** Running: its terminal, and its child adopted by the table (`launch` gets the exit callback). */
  running?: { master: number; pts: string; child: Child; launch: (onExit: Child['onExit']) => Launched }
  /** Ended before the upgrade. */
  ended?: { pid: number; pts: string; endedAt: number; exit: ExitEvent }
}

/** The terminal of a running session, for a live upgrade; the child's facts are on `child`. */
export interface PtyHandover {
  master: number
  pidfd: number
  pts: string
}

/** The `start` event of a session. */
export interface PtyStartEvent {
  pid: number
  /** Milliseconds since the epoch. */
  started_at: number
  /** `/dev/pts/N`. */
  pts: string
}

/**
 * A PTY session. Events: `data` (Buffer, as read from the terminal: bytes, not lines),
 * `exit` (ExitEvent, once, after the last `data`), `error` (only when listened to: the
 * program could not start; `started` and `exited` reject with it too), `drain` (input
 * that had to wait for the program has all been written: see `writableLength`), `kill`
 * (`killTree()` was called: output held back for a reader can no longer be waited for).
 */
export class PtySession extends EventEmitter {
  /** OS pid; 0 until the program has started (see `started`). */
  pid = 0
  readonly command: string
  readonly args: string[]
  rows: number
  cols: number
  /** The terminal's device, `/dev/pts/N`, once started. */
  ptsPath = ''
  /** Milliseconds since the epoch. */
  readonly createdAt: number
  endedAt: number | null = null
  /** Resolves once the program runs; rejects with the spawn error (never unhandled). */
  readonly started: Promise<PtyStartEvent>
  /** Resolves with the exit event; rejects with the spawn error (never unhandled). */
  readonly exited: Promise<ExitEvent>
  exitEvent: ExitEvent | null = null

  /** The child: pidfd, cgroup, signals, the reap (what a handover reads from outside). */
  readonly child: Child

  readonly #native: NativeBinding
  #pty: NativePty | null = null
  #reader: NativePipeReader | null = null
  readonly #input = new TerminalInput(() => this.emit('drain'))
  #pauses = 0
  /** Adopted after an upgrade and not resumed yet by its new owner (one of `#pauses`). */
  #adoptedPause = false
  #failed = false
  readonly #drain: Drain
  #resolve!: { start: (e: PtyStartEvent) => void; exit: (e: ExitEvent) => void; fail: (e: Error) => void }

  /**
   * Made by `Supervisor.pty(request)`; `sup` is the supervisor's core table. A session
   * handed over by a live upgrade is made by {@link PtySession.resume} instead.
   */
  constructor(sup: ProcessTable, request: PtyRequest)
  constructor(sup: ProcessTable | null, request: PtyRequest | ResumedPty)
  constructor(sup: ProcessTable | null, request: PtyRequest | ResumedPty) {
    super()
    const resumed = typeof request === 'object' && request !== null && RESUMED in request ? request : null
    const normalized = resumed === null ? normalizePty(request) : null
    const { req, rows, cols } = resumed ?? normalized!
    this.command = req.command
    this.args = req.args
    this.rows = rows
    this.cols = cols
    this.createdAt = resumed?.createdAt ?? Date.now()
    // Only an ended session handed over by an upgrade has no table: it never uses the addon.
    this.#native = sup?.native ?? (null as unknown as NativeBinding)
    let rejectStart: (e: Error) => void = noop
    this.started = new Promise(
      (res, rej) => ((this.#resolve = { start: res, exit: noop, fail: noop }), (rejectStart = rej)),
    )
    this.exited = new Promise((res, rej) => {
      this.#resolve.exit = res
      this.#resolve.fail = (e) => (rejectStart(e), rej(e))
    })
    this.started.catch(noop)
    this.exited.catch(noop)
    // The master reports EIO once the last slave fd is closed, and a read after the reap
    // waits for output still in the line discipline: EIO is the end (docs/pty.md). No
    // noteData: once the tree is killed, what still writes to the terminal is outside
    // it (a setsid'd job without cgroups) and may never stop, and docs/pty.md promises
    // the exit at most a grace after that kill.
    this.#drain = new Drain(sup?.drainGraceMs ?? 0, 'grace', {
      paused: () => this.#pauses > 0,
      killRest: () => this.child.killRest(),
      giveUp: () => this.#reader?.close(),
      finish: () => this.#finish(),
    })
    const extra = (creds: { uid: number; gid: number } | undefined): { ttyFd: number } => {
      this.#pty = this.#native.openPty({
        rows,
        cols,
        uid: creds?.uid ?? process.geteuid!(),
        gid: creds?.gid ?? process.getegid!(),
      })
      return { ttyFd: this.#pty.slave }
    }
    if (resumed?.ended !== undefined) {
      // Ended before the upgrade: a child that never runs here, and its exit as it was.
      this.child = new Child()
      this.pid = resumed.ended.pid
      this.ptsPath = resumed.ended.pts
      this.endedAt = resumed.ended.endedAt
      this.exitEvent = resumed.ended.exit
      this.#resolve.start({ pid: this.pid, started_at: this.createdAt, pts: this.ptsPath })
      this.#resolve.exit(resumed.ended.exit)
      return
    }
    this.child = resumed?.running?.child ?? sup!.launchChild(normalized!.req, extra, { sessionTree: true })
    this.child.on('spawn', this.#onSpawned)
    this.child.on('fail', this.#onFailed)
    this.child.on('reap', () => ((this.endedAt = Date.now()), this.#drain.reap()))
    this.child.on('killTree', () => this.emit('kill'))
    const running = resumed?.running
    if (running !== undefined) {
      // The terminal the old program opened; its slave went with the spawn there. Not read
      // until the new owner listens and calls resume(): no byte is read for nobody.
      this.#pty = { master: running.master, slave: -1, path: running.pts }
      this.#pauses = 1
      this.#adoptedPause = true
      // An owner that never took it over must not keep its end (and close()) waiting.
      this.on('kill', () => this.#adoptedPause && this.resume())
      this.child.spawned(null, running.launch(this.child.onExit))
    }
  }

  /**
   * A session the old program ran, after a live upgrade (docs/upgrade.md): around its
   * inherited terminal and child (adopted by the table, not spawned yet), paused until
   * `resume()`; or ended.
   */
  static resume(sup: ProcessTable | null, r: Omit<ResumedPty, typeof RESUMED>): PtySession {
    return new PtySession(sup, { ...r, [RESUMED]: true })
  }

  /** What a live upgrade hands over of a running session; null when it cannot now (docs/upgrade.md). */
  handover(): PtyHandover | null {
    const pty = this.#pty
    if (pty === null || !this.child.alive || this.exitEvent !== null || this.#reader === null) return null
    const pidfd = this.#native.childPidfd(this.child.pidfd!)
    if (pidfd < 0) return null
    return { master: pty.master, pidfd, pts: pty.path }
  }

  /** True until the exit event (false for a session that failed to start). */
  get running(): boolean {
    return this.exitEvent === null && !this.#failed
  }

  /**
   * Terminal input. Before the start it is queued; after the end it is dropped (false).
   * Input the program does not read yet is queued without a bound: a caller that takes
   * input from elsewhere bounds `writableLength` and waits for `drain`.
   */
  write(data: string | Uint8Array): boolean {
    if (!this.running || this.child.reaped !== null) return false
    const buf =
      typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    this.#input.write(buf)
    return true
  }

  /** Input accepted by `write` and not yet taken by the terminal, bytes. */
  get writableLength(): number {
    return this.#input.length
  }

  /** New window size; the foreground process group gets SIGWINCH. Throws once ended. */
  resize(cols: number, rows: number): void {
    const c = colsOf(cols)
    const r = rowsOf(rows)
    if (this.#pty === null || this.child.reaped !== null || !this.running) {
      throw coded(`PTY session ${this.pid} is not running`, 'PROCESS_NOT_RUNNING')
    }
    this.#native.resizePty(this.#pty.master, r, c)
    this.cols = c
    this.rows = r
  }

  /**
   * A signal to the program (default SIGHUP, as node-pty). It is the `killed` reason
   * only if it ends the program, as a process's `kill(sig)`. False once it has exited.
   */
  kill(signal: NodeJS.Signals | number = 'SIGHUP'): boolean {
    if (this.child.pending) return false
    return this.child.signal(signal)
  }

  /** Signals the program's process group. */
  signalGroup(signal: NodeJS.Signals | number, by: KilledBy = 'api'): boolean {
    if (this.child.pending) return false
    return this.child.signalGroup(signal, by)
  }

  /** SIGKILL to the whole tree: everything in the session's cgroup (or kernel session). */
  killTree(by: KilledBy = 'api'): void {
    if (!this.running) return
    void this.child.killTree(by)
  }

  /** Stops reading the terminal, so the program blocks once it fills. Each pause needs a resume. */
  pause(): void {
    if (this.#pauses++ === 0) this.#reader?.pause()
  }

  resume(): void {
    if (this.#pauses === 0) return
    this.#adoptedPause = false
    if (--this.#pauses === 0) this.#reader?.resume()
  }

  #onFailed = (err: CodedError): void => {
    const pty = this.#pty
    // What extra opened is ours to close: the child never got it.
    if (pty !== null && pty.slave >= 0) fs.close(pty.slave, noop)
    if (pty !== null) fs.close(pty.master, noop)
    this.#failed = true
    this.#resolve.fail(err)
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  #onSpawned = (): void => {
    const pty = this.#pty!
    // The child has its own copies: without closing ours the master never sees EIO.
    if (pty.slave >= 0) fs.close(pty.slave, noop)
    this.pid = this.child.pid
    this.ptsPath = pty.path
    this.#reader = new this.#native.PipeReader(
      pty.master,
      (chunk) => this.emit('data', chunk as Buffer),
      () => this.#drain.outputEnded(),
      true,
    )
    if (this.#pauses > 0) this.#reader.pause()
    this.#input.open(this.#native, pty.master)
    const ev: PtyStartEvent = { pid: this.pid, started_at: this.child.startedAt, pts: pty.path }
    this.#resolve.start(ev)
    this.emit('start', ev)
  }

  #finish(): void {
    this.#input.close()
    const ev = this.child.exitEvent()
    this.exitEvent = ev
    this.emit('exit', ev)
    this.#resolve.exit(ev)
    this.child.end()
  }
}
