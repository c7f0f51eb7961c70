/**
 * The core under the public `Supervisor` (src/supervisor.ts): validates requests, has
 * everything a child needs prepared before the clone (prepare.ts: credentials, PATH
 * candidates, environment, cgroups) and spawned, and keeps the table of running and
 * recently exited processes. Internal: the layers above (managed processes, PTY
 * sessions) reach it through the members the public class does not show.
 */
import { CgroupManager, type CgroupCapabilities } from '../cgroup/index.js'

import { coded } from '../errors.js'
import {
  binding as realBinding,
  type NativeBinding,
  type NativeExitCallback,
  type NativeSpawnOptions,
} from '../native.js'
import { Admission } from './admission.js'
import { Child } from './child.js'
import { Launcher, type Launched, type SpawnExtra } from './launch.js'
import { Observers, type SupervisorObserver } from './observer.js'
import { ChildSpawner } from './prepare.js'
import { SupervisedProcess, type ProcessOptions } from './process.js'
import { LINE_HEAP_OVERHEAD, OutputLog } from './retain.js'
import { Retention, type Retained } from './retention.js'
import type { ExitEvent, ProcessInfo, RunRequest, StartRequest } from '../types.js'
import { normalize, type Normalized } from './validate.js'
import { resolveOptions, type Settings, type SupervisorOptions } from './options.js'
import { traceProcess } from './trace.js'
import { Watchdog } from './watchdog.js'

/** stderr's native stdio mode: 2 is the stdout pipe itself (merged output). */
const STDERR_MODE = { discard: 0, capture: 1, stdout: 2 } as const

/** Spawns of run/start handed to the addon at once (see admission.ts). */
const MAX_SPAWNS_IN_FLIGHT = 128

export type { SupervisorOptions }
export type { Retained }
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
  /** Exited processes still listed, and whatever a layer above retains: one bound for all. */
  readonly #ended: Retention
  /** Launched run/start children not spawned yet (queued on a spawner thread or for admission). */
  readonly #pending = new Set<Child>()
  /** Every child not ended yet, the layers' above included: what close() ends. */
  readonly #children = new Set<Child>()
  /** Children of the layers above (PTY sessions), which a live upgrade cannot hand over yet. */
  readonly #others = new Set<Child>()
  readonly #launcher: Launcher
  /** Monitoring's view of the launches (see observer.ts); the layers above report through it too. */
  readonly observers = new Observers()

  constructor(opts: SupervisorOptions = {}) {
    this.#s = resolveOptions(opts)
    this.#ended = new Retention(this.#s.maxExited, this.#s.retainTotalBytes)
    this.#binding = opts.binding ?? realBinding
    this.#cgroups = opts.cgroup === false ? null : CgroupManager.detect(opts.cgroup ?? {})
    this.capabilities = this.#cgroups?.capabilities ?? cgroupsOff()
    const spawner = new ChildSpawner(this.#s, this.#binding, this.#cgroups, this.capabilities)
    this.#launcher = new Launcher(spawner, new Admission(MAX_SPAWNS_IN_FLIGHT))
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
    const children = [...this.#children]
    // Children not spawned yet get their SIGTERM the moment they exist.
    for (const c of children) c.signalGroup('SIGTERM', 'shutdown')
    const timer = setTimeout(() => {
      for (const c of children) void c.killTree('shutdown')
    }, this.#s.killGrace)
    await Promise.all(children.map((c) => c.ended))
    clearTimeout(timer)
    try {
      await this.#cgroups?.close()
    } finally {
      await this.#watchdog?.close()
    }
  }

  #launch(req: Normalized, retain: boolean): SupervisedProcess {
    if (this.#closed !== null) throw coded('the supervisor is closed', 'ERR_SUPERVISOR_CLOSED')
    const stdio: NativeSpawnOptions['stdio'] = [
      req.stdin === 'pipe' ? 1 : 0,
      req.stdout === 'capture' ? 1 : 0,
      STDERR_MODE[req.stderr],
    ]
    const child = this.#cover(this.#launcher.launch(req, { extra: () => ({ stdio }), admit: true }))
    this.#pending.add(child)
    // Before the process's own listener: the table knows the pid when `start` is emitted.
    child.once('spawn', () => {
      this.#pending.delete(child)
      this.#track(proc)
    })
    child.once('fail', () => this.#pending.delete(child))
    const proc = new SupervisedProcess(
      {
        handle: ++this.#handles,
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
        native: this.#binding,
        freezeUnavailable: this.capabilities.controllers.freezer.reason,
      },
      child,
    )
    this.#total++
    traceProcess(proc, req.command)
    this.observers.launched(proc, req)
    return proc
  }

  /**
   * For the layers above the core (src/pty/): starts a child exactly as `run` and `start`
   * do (environment, PATH, credentials, cgroup and memory limit, spawner thread), with
   * extra native fields such as a terminal. `close()` ends it too, and waits until its
   * owner called `child.end()`. A failed preparation (an unknown user, a cgroup write,
   * `extra` itself) comes as the child's `fail`.
   */
  launchChild(req: Normalized, extra: SpawnExtra, opts: { sessionTree?: boolean } = {}): Child {
    if (this.#closed !== null) throw coded('the supervisor is closed', 'ERR_SUPERVISOR_CLOSED')
    this.#total++
    const child = this.#cover(this.#launcher.launch(req, { extra, sessionTree: opts.sessionTree }))
    this.#others.add(child)
    void child.ended.then(() => this.#others.delete(child))
    return child
  }

  /**
   * What a live upgrade reads of the table (src/handover/): the handle counter, what is
   * in flight, the running processes, the watchdog and the cgroup directories.
   */
  get handoverView(): {
    handles: number
    total: number
    pending: Child[]
    others: number
    running: SupervisedProcess[]
    /** Exited processes still listed, oldest first. */
    ended: SupervisedProcess[]
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
      ended: [...this.#table].filter((p) => p.exitEvent !== null),
      watchdog: this.#watchdog,
      cgroupDirs: this.#cgroups?.dirs ?? [],
      closed: this.#closed !== null,
    }
  }

  /**
   * A process the old server ran, after a live upgrade (src/handover/adopt.ts): tracked
   * as if spawned here, around a child made of what was inherited (`inherit` gets the
   * child's exit callback, for the addon's watch of the inherited pidfd).
   */
  adopt(
    opts: Omit<ProcessOptions, 'native'>,
    inherit: (onExit: NativeExitCallback) => Launched,
    total: number,
  ): SupervisedProcess {
    this.#handles = Math.max(this.#handles, opts.handle)
    this.#total = Math.max(this.#total, total)
    const child = this.#cover(new Child())
    child.once('spawn', () => this.#track(proc))
    const proc = new SupervisedProcess(
      { ...opts, native: this.#binding, freezeUnavailable: this.capabilities.controllers.freezer.reason },
      child,
    )
    child.spawned(null, inherit(child.onExit))
    return proc
  }

  /**
   * A process that had ended in the old server of a live upgrade (src/handover/adopt.ts):
   * listed and retained as if it had ended here.
   */
  adoptEnded(
    opts: Omit<ProcessOptions, 'native'>,
    facts: { pid: number; startedAt: number; user: { uid: number; gid: number } | null },
    exit: ExitEvent,
    endedAt: number,
  ): SupervisedProcess {
    this.#handles = Math.max(this.#handles, opts.handle)
    const child = new Child()
    child.pid = facts.pid
    child.startedAt = facts.startedAt
    child.user = facts.user
    const proc = new SupervisedProcess({ ...opts, native: this.#binding }, child)
    proc.restoreEnded(exit, endedAt)
    this.#byPid.set(facts.pid, proc)
    this.#table.add(proc)
    this.retainEnded(proc, {
      bytes: proc.log?.bytes ?? 0,
      release: () => proc.log?.release(),
      forget: () => this.#forgetProcess(proc),
    })
    return proc
  }

  /**
   * A child of a layer above (a PTY session) that the old server ran, after a live
   * upgrade (src/handover/pty-state.ts): covered as `launchChild`'s; its owner calls
   * `child.spawned()` with what was inherited. `total`: the old server's count of starts.
   */
  adoptChild(opts: { sessionTree?: boolean }, total: number): Child {
    this.#total = Math.max(this.#total, total)
    const child = this.#cover(new Child(opts))
    this.#others.add(child)
    void child.ended.then(() => this.#others.delete(child))
    return child
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

  // Shutdown and the watchdog cover every child, whoever owns it.
  #cover(child: Child): Child {
    this.#children.add(child)
    child.once('spawn', () => this.#watchdog?.watch(child.pid))
    void child.ended.then(() => {
      if (child.pid > 0) this.#watchdog?.forget(child.pid)
      this.#children.delete(child)
    })
    return child
  }

  #track(proc: SupervisedProcess): void {
    this.#byPid.set(proc.child.pid, proc)
    this.#table.add(proc)
    this.#running.add(proc)
    proc.exited
      .then(() => {
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
   * (see retention.ts).
   */
  retainEnded(key: object, entry: Retained): void {
    this.#ended.keep(key, entry)
  }

  /** `key` lives again (a stopped managed process restarted): no longer counted or forgotten. */
  unretain(key: object): void {
    this.#ended.drop(key)
  }

  #forgetProcess(p: SupervisedProcess): void {
    this.#table.delete(p)
    if (this.#byPid.get(p.pid) === p) this.#byPid.delete(p.pid)
  }
}

function cgroupsOff(): Capabilities {
  const reason = 'cgroups turned off (cgroup: false)'
  const off = { usable: false, reason }
  return { cgroup: null, oomDetection: false, reason, controllers: { memory: off, pids: off, cpu: off, freezer: off } }
}
