/**
 * One child as the core knows it, whatever owns it (a process, a PTY session): its
 * pidfd, its cgroup, the signals sandproc sends it and why (docs/endings.md), the kill
 * of its tree and the reap with every counter. The table launches it (launch.ts); its
 * owner listens to it and never calls back into the table.
 */
import { EventEmitter } from 'node:events'
import { constants as os } from 'node:os'

import { coded, type CodedError } from '../errors.js'
import type { NativeChild, NativeExitCallback, NativeSpawned } from '../native.js'
import type { ExitEvent, KilledBy } from '../types.js'
import { EndingRecord } from './ending.js'
import { exitEvent, type Reaped } from './exit.js'
import type { Launched, ProcessCgroupHandle, ResumedProcess } from './launch.js'
import { reapedOf } from './reap.js'
import { signalNumber } from './signals.js'
import { killSession } from './session-kill.js'

const noop = (): void => {}

export interface ChildOptions {
  /**
   * Without a cgroup, the tree is every process of the child's kernel session rather
   * than its process group alone: an interactive shell on a terminal gives each job a
   * process group of its own (docs/pty.md), while a plain process's descendants stay
   * in its group unless they move themselves.
   */
  sessionTree?: boolean
}

/**
 * Events, in this order: `spawn` (the child exists) or `fail` (CodedError: it never
 * will), then `reap` (the main process is reaped; `reaped` holds the facts), and
 * `killTree` (with the promise of the kill of the rest) whenever the tree is killed.
 */
export class Child extends EventEmitter {
  /** OS pid; 0 until spawned. */
  pid = 0
  /** The addon's handle on the pidfd: signals that never hit a reused pid. Null until spawned. */
  pidfd: NativeChild | null = null
  /** The per-process cgroup, or null without cgroups. */
  cgroup: ProcessCgroupHandle | null = null
  /** The credentials it got. */
  user: { uid: number; gid: number } | null = null
  /** Parent ends of stdin, stdout, stderr; -1 where the child has /dev/null. */
  fds: NativeSpawned['fds'] = [-1, -1, -1]
  /** Milliseconds since the epoch, at the spawn; 0 before. */
  startedAt = 0
  /** What the reap told; null while it runs. */
  reaped: Reaped | null = null
  /** True when the reap's reading showed nothing left in the cgroup (no kill pass needed). */
  emptyAtReap = false
  /** Why it ends, as sandproc's own actions decide it (docs/endings.md). */
  readonly ending = new EndingRecord()
  /** sandproc sent a SIGKILL: never reported as an OOM kill. */
  killedBySupervisor = false
  /** Where it stood when an old server handed it over (docs/upgrade.md); null when spawned here. */
  resumed: ResumedProcess | null = null
  /** Resolves once its owner delivered the exit (or the spawn failed). */
  readonly ended: Promise<void>

  readonly #sessionTree: boolean
  #startedMono = 0
  #error: CodedError | null = null
  #done = false
  #killPending: KilledBy | null | undefined = undefined
  #whenSpawned: Array<() => void> = []
  #resolveEnded!: () => void

  constructor(opts: ChildOptions = {}) {
    super()
    this.#sessionTree = opts.sessionTree === true
    this.ended = new Promise((res) => (this.#resolveEnded = res))
  }

  /** Ms since the spawn (in the old server too, for an adopted child). */
  get elapsedMs(): number {
    return performance.now() - this.#startedMono
  }

  /** Neither spawned nor failed yet. */
  get pending(): boolean {
    return this.pidfd === null && this.#error === null
  }

  /** The spawn error, once it failed. */
  get error(): CodedError | null {
    return this.#error
  }

  /** Spawned and not reaped: signals reach it. */
  get alive(): boolean {
    return this.pidfd !== null && this.reaped === null
  }

  /** The launch's outcome (launch.ts); `spawn` or `fail` follows. */
  spawned(err: CodedError | null, launched?: Launched): void {
    if (err !== null || launched === undefined) return this.fail(err ?? coded('spawn failed', 'EIO'))
    const { spawned, cgroup, user, resumed } = launched
    this.pid = spawned.pid
    this.pidfd = spawned.child
    this.fds = spawned.fds
    this.cgroup = cgroup
    this.user = user
    this.startedAt = resumed?.startedAt ?? Date.now()
    // An adopted child's wall time goes on from what it had run in the old server.
    this.#startedMono = performance.now() - (resumed?.elapsedMs ?? 0)
    if (resumed !== undefined) {
      this.resumed = resumed
      if (resumed.ending !== null) this.ending.record(resumed.ending)
      this.killedBySupervisor = resumed.killedBySupervisor
    }
    this.emit('spawn')
    for (const fn of this.#whenSpawned.splice(0)) fn()
    // killTree() before the child existed (close(), a client gone): honour it now.
    if (this.#killPending !== undefined) this.killTree(this.#killPending ?? undefined)
  }

  /** The child will never exist (a failed preparation or spawn). */
  fail(err: CodedError): void {
    this.#error = err
    this.#whenSpawned = []
    this.emit('fail', err)
    this.#resolveEnded()
  }

  /** The addon's exit callback: the main process is reaped and its group SIGKILLed. */
  onExit: NativeExitCallback = (code, signal, userUs, sysUs, texts) => {
    this.reaped = reapedOf(this.cgroup, this.#startedMono, code, signal, userUs, sysUs, texts)
    try {
      this.emptyAtReap = this.cgroup === null || this.cgroup.emptyAtReap(texts)
    } catch {
      this.emptyAtReap = false
    }
    this.emit('reap', this.reaped)
  }

  /**
   * A signal to the main process through its pidfd. It decides the reason (`killed` by
   * `by`) only if it is what ends the process: the program may handle it and go on.
   * Before the spawn it is sent the moment the child exists. False once reaped.
   */
  signal(signal: NodeJS.Signals | number, by: KilledBy = 'api'): boolean {
    const sig = signalNumber(signal)
    if (this.pending) {
      this.#whenSpawned.push(() => this.signal(sig, by))
      return true
    }
    if (!this.alive) return false
    if (sig === os.signals.SIGKILL) this.killedBySupervisor = true
    this.ending.record({ reason: 'killed', killedBy: by, onlyIfSignal: sig })
    const sent = this.pidfd!.signal(sig)
    // Other signals wait for the thaw (docs/freeze.md).
    if (sig === os.signals.SIGKILL) this.#thaw()
    return sent
  }

  /**
   * A signal to the process group, which ends it by `by` (a shutdown's SIGTERM, a
   * managed restart). Before the spawn it is sent the moment the child exists.
   */
  signalGroup(signal: NodeJS.Signals | number, by: KilledBy = 'api'): boolean {
    const sig = signalNumber(signal)
    if (this.pending) {
      this.#whenSpawned.push(() => this.signalGroup(sig, by))
      return true
    }
    if (!this.alive) return false
    if (sig === os.signals.SIGKILL) this.killedBySupervisor = true
    this.ending.record({ reason: 'killed', killedBy: by })
    const sent = this.pidfd!.killGroup(sig)
    // Meant to end it: a frozen tree must run to act on it.
    this.#thaw()
    return sent
  }

  /** A catchable signal (a timeout's SIGTERM) to the process group and the rest of the cgroup. */
  signalTree(sig: number): void {
    if (this.alive) this.pidfd!.killGroup(sig)
    this.cgroup?.signalAll?.(sig)
  }

  /**
   * SIGKILL to the whole tree: the process group, the main process and everything left
   * in the cgroup. `by` is the `killed_by` its exit reports; without it the reason is
   * left to whoever recorded one (a timeout). Before the spawn it happens the moment the
   * child exists. Resolves once the rest of the tree is killed.
   */
  killTree(by?: KilledBy): Promise<void> {
    if (this.#error !== null || this.#done) return Promise.resolve()
    if (by !== undefined) this.ending.record({ reason: 'killed', killedBy: by })
    if (this.pending) {
      this.#killPending ??= by ?? null
      this.emit('killTree', Promise.resolve())
      return Promise.resolve()
    }
    if (this.alive) {
      this.killedBySupervisor = true
      this.pidfd!.killGroup(os.signals.SIGKILL)
      this.pidfd!.signal(os.signals.SIGKILL)
    }
    const killed = this.killRest()
    this.#thaw()
    this.emit('killTree', killed)
    return killed
  }

  // A signal meant to end a frozen tree is sent first, then the tree is thawed so that it
  // lands before anything runs again (docs/freeze.md); the owner restarts its clocks.
  #thaw(): void {
    const freezer = this.cgroup?.freezer
    if (freezer?.frozen !== true) return
    freezer.thawSync()
    this.emit('thaw')
  }

  /** SIGKILL to what is left of the tree besides the main process; resolves once done. */
  killRest(): Promise<void> {
    if (this.cgroup !== null) return this.cgroup.killAll().catch(noop)
    if (this.#sessionTree && this.pid > 0) killSession(this.pid)
    return Promise.resolve()
  }

  /** The exit event of the reap, with the reason sandproc's actions decided. */
  exitEvent(): ExitEvent {
    return exitEvent(this.reaped!, { killedBySupervisor: this.killedBySupervisor, ending: this.ending.current })
  }

  /** The owner delivered the exit: the cgroup goes (off the event's path). */
  end(): void {
    if (this.#done) return
    this.#done = true
    this.cgroup?.release().catch(noop)
    this.#resolveEnded()
  }

  ref(): void {
    this.pidfd?.ref()
  }

  unref(): void {
    this.pidfd?.unref()
  }
}
