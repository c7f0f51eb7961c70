/**
 * The core under the public `Supervisor` (src/supervisor.ts): validates requests, has
 * everything a child needs prepared before the clone (prepare.ts: credentials, PATH
 * candidates, environment, cgroups) and spawned, and keeps the table of running and
 * recently exited processes. Internal: the layers above (managed processes, PTY
 * sessions) reach it through the members the public class does not show.
 */
import { CgroupManager, type CgroupCapabilities } from '../cgroup/index.js'

import { coded, type CodedError } from '../errors.js'
import { binding as realBinding, type NativeBinding, type NativeSpawnOptions } from '../native.js'
import { Admission } from './admission.js'
import { Observers, type SupervisorObserver } from './observer.js'
import type { ChildLaunch, ChildOwner, ProcessOptions } from './launch.js'
import { ChildSpawner } from './prepare.js'
import { SupervisedProcess } from './process.js'
import { LINE_HEAP_OVERHEAD, OutputLog } from './retain.js'
import type { ProcessInfo, RunRequest, StartRequest } from '../types.js'
import { normalize, type Normalized } from './validate.js'
import { resolveOptions, type Settings, type SupervisorOptions } from './options.js'
import { traceProcess } from './trace.js'
import { Watchdog } from './watchdog.js'

/** stderr's native stdio mode: 2 is the stdout pipe itself (merged output). */
const STDERR_MODE = { discard: 0, capture: 1, stdout: 2 } as const

/** Spawns of run/start handed to the addon at once (see admission.ts). */
const MAX_SPAWNS_IN_FLIGHT = 128

export type { SupervisorOptions }
export type { ChildLaunch, ChildOwner }
export type { SupervisorObserver }
export { pathCandidates } from './prepare.js'

/** What the supervisor found about memory cgroups (docs/cgroups.md "OOM kills"). */
export type Capabilities = CgroupCapabilities

/** Starts processes and keeps their table; the public `Supervisor` (src/supervisor.ts) wraps it. */
export class ProcessTable {
  /** Where the memory controller is and whether OOM kills can be reported. */
  readonly capabilities: Capabilities
  readonly #s: Settings
  readonly #binding: NativeBinding
  readonly #cgroups: CgroupManager | null
  readonly #watchdog: Watchdog | null
  #handles = 0
  #total = 0
  #closed: Promise<void> | null = null
  /** Newest process per pid. */
  readonly #byPid = new Map<number, SupervisedProcess>()
  /** Running and retained exited processes, oldest first. */
  readonly #table = new Set<SupervisedProcess>()
  readonly #running = new Set<SupervisedProcess>()
  /**
   * What has ended and is kept, oldest first, with the log bytes counted for each:
   * exited processes still in the table, and whatever a layer above retains (stopped
   * managed processes). One count bound and one byte bound cover them all.
   */
  readonly #exited = new Map<object, Retained>()
  /** Sum of the bytes in #exited: checked on every exit, so kept rather than recounted. */
  #retained = 0
  /** Queued on the spawner thread, not started yet. */
  readonly #pending = new Set<SupervisedProcess>()
  readonly #spawner: ChildSpawner
  /** Running children of the layers above (launchChild). */
  readonly #others = new Set<ChildOwner>()
  readonly #admission = new Admission(MAX_SPAWNS_IN_FLIGHT)
  /** Monitoring's view of the launches (see observer.ts); the layers above report through it too. */
  readonly observers = new Observers()

  constructor(opts: SupervisorOptions = {}) {
    this.#s = resolveOptions(opts)
    this.#binding = opts.binding ?? realBinding
    this.#cgroups = opts.cgroup === false ? null : CgroupManager.detect(opts.cgroup ?? {})
    this.capabilities = this.#cgroups?.capabilities ?? cgroupsOff()
    this.#spawner = new ChildSpawner(this.#s, this.#binding, this.#cgroups, this.capabilities)
    this.#watchdog = opts.watchdog === false ? null : Watchdog.start(this.#binding, this.#cgroups?.dirs ?? [])
  }

  /** Runs a process with stdin closed and both streams captured (the `run` endpoint). */
  run(req: RunRequest): SupervisedProcess {
    return this.#launch(normalize(req, 'run'), false)
  }

  /** Starts a background process with stdio modes; its output is retained for snapshots and follows. */
  start(req: StartRequest): SupervisedProcess {
    return this.#launch(normalize(req, 'start'), true)
  }

  /**
   * For the layers above the core (managed processes): starts a request validated with
   * `normalize(req, 'start')` whose output the process does not retain itself; the
   * caller keeps its own log from the `output` events.
   */
  startRun(req: Normalized): SupervisedProcess {
    return this.#launch(req, false)
  }

  /** Running and retained exited processes, oldest first. */
  processes(): SupervisedProcess[] {
    return [...this.#table]
  }

  /** ProcessInfo of the newest process that had this pid. */
  get(pid: number): ProcessInfo | undefined {
    return this.#byPid.get(pid)?.info()
  }

  /** The process object of the newest process that had this pid. */
  process(pid: number): SupervisedProcess | undefined {
    return this.#byPid.get(pid)
  }

  /** Running and retained exited processes, oldest first. */
  list(): ProcessInfo[] {
    return [...this.#table].map((p) => p.info())
  }

  /**
   * Adds an observer of every launch (metrics, an audit log). Returns the function that
   * removes it.
   */
  observe(observer: SupervisorObserver): () => void {
    return this.observers.add(observer)
  }

  /** Processes running now. */
  get running(): number {
    return this.#running.size
  }

  /**
   * Processes running now plus launches not spawned yet: what a cap on processes must
   * count, or a burst of requests all pass it before the first has spawned.
   */
  get active(): number {
    // A launch leaves #pending just before it joins #running: never counted twice.
    return this.#running.size + this.#pending.size
  }

  /** Processes started since construction. */
  get total(): number {
    return this.#total
  }

  /**
   * Resolves once the cgroups the supervisor keeps ready for its next spawns are made
   * and opened (a warm-up: the first spawns then skip a mkdir). Never rejects.
   */
  async ready(): Promise<void> {
    await this.#cgroups?.prepared()
  }

  /**
   * SIGTERM to every running process tree, SIGKILL after `killGrace`, waits until all are
   * reaped and drained, then removes the cgroups. Idempotent; later run/start calls throw.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown()
    return this.#closed
  }

  async #shutdown(): Promise<void> {
    const procs: ChildOwner[] = [...this.#running, ...this.#pending, ...this.#others]
    for (const p of this.#running) p.signalGroup('SIGTERM', 'shutdown')
    for (const p of this.#others) p.signalGroup('SIGTERM', 'shutdown')
    // Queued spawns get their SIGTERM the moment they exist.
    for (const p of this.#pending)
      p.started.then(
        () => p.signalGroup('SIGTERM', 'shutdown'),
        () => undefined,
      )
    const timer = setTimeout(() => {
      for (const p of procs) p.killTree('shutdown')
    }, this.#s.killGrace)
    await Promise.all(procs.map((p) => p.exited.catch(() => undefined)))
    clearTimeout(timer)
    try {
      await this.#cgroups?.close()
    } finally {
      await this.#watchdog?.close()
    }
  }

  #launch(req: Normalized, retain: boolean): SupervisedProcess {
    if (this.#closed !== null) throw coded('the supervisor is closed', 'ERR_SUPERVISOR_CLOSED')
    const handle = ++this.#handles
    const proc = new SupervisedProcess({
      handle,
      command: req.command,
      args: req.args,
      lineLimit: this.#s.lineLimit,
      log: retain
        ? new OutputLog({
            maxBytes: this.#s.retainBytes,
            headBytes: this.#s.retainHeadBytes,
            lineOverhead: LINE_HEAP_OVERHEAD,
          })
        : null,
      timeoutMs: req.timeoutMs,
      idleTimeoutMs: req.idleTimeoutMs,
      timeoutGraceMs: req.timeoutGraceMs,
      encoding: req.encoding,
      maxOutputBytes: req.maxOutputBytes,
      drainGraceMs: this.#s.drainGrace,
      onSpawned: (p) => this.#track(p),
      native: this.#binding,
      launch: (onSpawned, onExit) => {
        const stdio: NativeSpawnOptions['stdio'] = [
          req.stdin === 'pipe' ? 1 : 0,
          req.stdout === 'capture' ? 1 : 0,
          STDERR_MODE[req.stderr],
        ]
        const go = (): void =>
          this.#spawner.spawn(
            req,
            () => ({ stdio }),
            onSpawned,
            onExit,
            () => {
              this.#pending.delete(proc)
              this.#admission.leave()
            },
          )
        // Admitted later: a failed preparation is reported as a spawn failure, as it
        // would be had it thrown from run() (the process defers that one a tick).
        const later = (): boolean => {
          try {
            go()
            return true
          } catch (err) {
            this.#pending.delete(proc)
            onSpawned(err as CodedError)
            return false
          }
        }
        if (!this.#admission.enter(later)) return
        try {
          go()
        } catch (err) {
          this.#admission.leave()
          throw err
        }
      },
    })
    this.#total++
    if (proc.pending) this.#pending.add(proc)
    traceProcess(proc, req.command)
    this.observers.launched(proc, req)
    return proc
  }

  /**
   * For the layers above the core (src/pty/): starts a child exactly as `run` and `start`
   * do (environment, PATH, credentials, cgroup and memory limit, spawner thread), with
   * extra native fields such as a terminal. `owner` is the caller's object for the
   * child: `close()` signals it and waits for `owner.exited`. Throws when the
   * preparation fails (an unknown user, a cgroup write, `extra` itself).
   */
  launchChild(owner: ChildOwner, launch: ChildLaunch): void {
    if (this.#closed !== null) throw coded('the supervisor is closed', 'ERR_SUPERVISOR_CLOSED')
    const { req, onSpawned } = launch
    this.#spawner.spawn(
      req,
      launch.extra,
      (err, launched) => {
        if (err === null && launched !== undefined) this.#adopt(owner, launched.spawned.pid)
        onSpawned(err, launched)
      },
      launch.onExit,
      () => undefined,
    )
    this.#total++
  }

  /**
   * What a live upgrade reads of the table (src/handover/): the handle counter, what is
   * in flight, the running processes, the watchdog and the cgroup directories.
   */
  get handoverView(): {
    handles: number
    total: number
    pending: SupervisedProcess[]
    others: number
    running: SupervisedProcess[]
    watchdog: Watchdog | null
    cgroupDirs: string[]
    closed: boolean
  } {
    return {
      handles: this.#handles,
      total: this.#total,
      pending: [...this.#pending],
      others: this.#others.size,
      running: [...this.#running],
      watchdog: this.#watchdog,
      cgroupDirs: this.#cgroups?.dirs ?? [],
      closed: this.#closed !== null,
    }
  }

  /**
   * A process the old server ran, after a live upgrade (src/handover/adopt.ts): tracked
   * as if spawned here; its `launch` hands over the inherited child at once.
   */
  adopt(opts: Omit<ProcessOptions, 'onSpawned' | 'native'>, total: number): SupervisedProcess {
    this.#handles = Math.max(this.#handles, opts.handle)
    this.#total = Math.max(this.#total, total)
    return new SupervisedProcess({ ...opts, native: this.#binding, onSpawned: (p) => this.#track(p) })
  }

  /** The addon this supervisor spawns through (layers above use its terminal and reader parts). */
  get native(): NativeBinding {
    return this.#binding
  }

  /** The base working directory of the children (`cwd`), absolute. */
  get cwd(): string {
    return this.#s.cwd
  }

  /** How long idle output is waited for after a main process exits, ms (`drainGrace`). */
  get drainGraceMs(): number {
    return this.#s.drainGrace
  }

  // A child of a layer above: shutdown and the watchdog cover it like our own.
  #adopt(owner: ChildOwner, pid: number): void {
    // Spawned while close() was already under way: it did not see this one.
    if (this.#closed !== null) owner.killTree('shutdown')
    this.#watchdog?.watch(pid)
    this.#others.add(owner)
    owner.exited
      .catch(() => undefined)
      .then(() => {
        this.#watchdog?.forget(pid)
        this.#others.delete(owner)
      })
  }

  #track(proc: SupervisedProcess): void {
    this.#watchdog?.watch(proc.pid)
    this.#byPid.set(proc.pid, proc)
    this.#table.add(proc)
    this.#running.add(proc)
    proc.exited
      .then(() => {
        this.#watchdog?.forget(proc.pid)
        this.#running.delete(proc)
        // Its output is complete once it has exited, so its log no longer grows.
        this.retainEnded(proc, {
          bytes: proc.log?.bytes ?? 0,
          release: () => proc.log?.release(),
          forget: () => this.#forgetProcess(proc),
        })
      })
      .catch(() => undefined)
  }

  /**
   * For the layers above: keeps `key` among the ended things the retention bounds cover
   * (`maxExited` in number, `retainTotalBytes` in log bytes, oldest out first). Its log
   * must no longer grow; `release` drops it, `forget` removes `key` from every listing.
   */
  retainEnded(key: object, entry: Retained): void {
    this.unretain(key)
    this.#exited.set(key, { ...entry })
    this.#retained += entry.bytes
    this.#trim()
  }

  /** `key` lives again (a stopped managed process restarted): no longer counted or forgotten. */
  unretain(key: object): void {
    const entry = this.#exited.get(key)
    if (entry === undefined) return
    this.#retained -= entry.bytes
    this.#exited.delete(key)
  }

  // Ended things beyond the bound are forgotten oldest first; running ones stay.
  // Per exit this costs O(1) plus what it removes: it runs once per process.
  #trim(): void {
    for (const [key, entry] of this.#exited) {
      if (this.#exited.size <= this.#s.maxExited) break
      this.#exited.delete(key)
      this.#retained -= entry.bytes
      entry.forget()
    }
    // Each log is bounded, but up to maxExited of them are kept: bound their sum too,
    // releasing the oldest output first.
    if (this.#retained <= this.#s.retainTotalBytes) return
    for (const entry of this.#exited.values()) {
      if (this.#retained <= this.#s.retainTotalBytes) break
      if (entry.bytes === 0) continue
      this.#retained -= entry.bytes
      entry.bytes = 0
      entry.release()
    }
  }

  #forgetProcess(p: SupervisedProcess): void {
    this.#table.delete(p)
    if (this.#byPid.get(p.pid) === p) this.#byPid.delete(p.pid)
  }
}

/** Something ended that the table's retention bounds cover (see `retainEnded`). */
export interface Retained {
  /** Log bytes it holds. */
  bytes: number
  /** Drops its output (the total byte bound was reached). */
  release(): void
  /** Removes it from every listing and lookup (the count bound was reached). */
  forget(): void
}

function cgroupsOff(): Capabilities {
  const reason = 'cgroups turned off (cgroup: false)'
  const off = { usable: false, reason }
  return { cgroup: null, oomDetection: false, reason, controllers: { memory: off, pids: off, cpu: off } }
}
