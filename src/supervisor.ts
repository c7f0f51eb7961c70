/**
 * The supervisor as the public API has it (docs/api.md): the process table of the core
 * (core/table.ts) with managed processes (docs/managed.md) and PTY sessions
 * (`pty`) on it. The one class users see; the core's extra members (the addon, child
 * launches for the layers, retention hooks) stay on the table, which is not exported.
 */
import { ProcessTable, type Capabilities, type SupervisorOptions } from './core/table.js'
import type { SupervisorObserver } from './core/observer.js'
import type { SupervisedProcess } from './core/process.js'
import { resolveOptions } from './core/options.js'
import { LINE_HEAP_OVERHEAD, OutputLog } from './core/retain.js'
import { normalize } from './core/validate.js'
import { coded } from './errors.js'
import type { ManagedStartRequest, ProcessInfo, RunRequest, StartRequest } from './types.js'
import { isManagedRequest, managedSpec } from './managed/fields.js'
import { ManagedProcess, type RunHost } from './managed/process.js'
import { ManagedRegistry } from './managed/registry.js'
import { PtySession, type PtyRequest } from './pty/index.js'
import {
  adoptAll,
  captureManaged,
  handOver,
  managedInBetween,
  resumeManaged,
  takeHandoverState,
  type HandoverOptions,
  type OldWatchdogs,
} from './handover/index.js'

export type { Capabilities, SupervisorOptions, SupervisorObserver, HandoverOptions }

/**
 * Starts processes, keeps managed ones running, opens terminals, and keeps the table.
 * See docs/api.md.
 */
export class Supervisor {
  /** Where the memory controller is and whether OOM kills can be reported. */
  readonly capabilities: Capabilities
  readonly #table: ProcessTable
  readonly #registry = new ManagedRegistry()
  readonly #host: RunHost
  readonly #retainBytes: number
  readonly #retainHeadBytes: number
  #closing = false
  readonly #handover: boolean
  /** The old servers' watchdogs, after a live upgrade. */
  #old: OldWatchdogs | undefined
  /** PTY sessions until their exit is delivered: what a live upgrade hands over. */
  readonly #ptys = new Set<PtySession>()

  constructor(opts: SupervisorOptions = {}) {
    this.#table = new ProcessTable(opts)
    this.capabilities = this.#table.capabilities
    const settings = resolveOptions(opts)
    this.#retainBytes = settings.retainBytes
    this.#retainHeadBytes = settings.retainHeadBytes
    this.#handover = settings.handover
    const closing = (): boolean => this.#closing
    this.#host = {
      launch: (req) => this.#table.startRun(req),
      get closing() {
        return closing()
      },
      killGrace: settings.killGrace,
    }
  }

  /** Runs a process with stdin closed and both streams captured (the `run` endpoint). */
  run(req: RunRequest): SupervisedProcess {
    return this.#table.run(req)
  }

  /**
   * Starts a background process with stdio modes; its output is retained for snapshots
   * and follows. With any of `name`, `restart` or `health_check` it is managed: the
   * returned {@link ManagedProcess} stays the same across its runs.
   *
   * @throws TypeError (code `INVALID_REQUEST`) naming a bad field; Error with code
   *   `NAME_IN_USE` when a managed process that is not stopped holds the name.
   */
  start(req: ManagedStartRequest): ManagedProcess
  start(req: StartRequest): SupervisedProcess
  start(req: StartRequest | ManagedStartRequest): SupervisedProcess | ManagedProcess {
    return isManagedRequest(req) ? this.startManaged(req) : this.#table.start(req)
  }

  /** `start()` for a request that is managed whatever fields it has (a managed process with defaults). */
  startManaged(
    req: StartRequest & Partial<Pick<ManagedStartRequest, 'name' | 'restart' | 'health_check'>>,
  ): ManagedProcess {
    const request = normalize(req, 'start')
    const spec = managedSpec(req as unknown as Record<string, unknown>)
    if (this.#closing) throw coded('the supervisor is closed', 'ERR_SUPERVISOR_CLOSED')
    if (spec.name !== null) this.#registry.checkName(spec.name)
    const log = new OutputLog({
      maxBytes: this.#retainBytes,
      headBytes: this.#retainHeadBytes,
      lineOverhead: LINE_HEAP_OVERHEAD,
    })
    return this.#keep(new ManagedProcess({ request, spec, host: this.#host, log }))
  }

  /** Registers `m` (by name, with its runs) and keeps it among the ended things once stopped. */
  #keep(m: ManagedProcess): ManagedProcess {
    const replaced = m.name === null ? undefined : this.#registry.byName(m.name)
    this.#registry.add(m)
    const table = this.#table
    m.on('restart', (run, automatic) => table.observers.restarted(m.name, run, automatic))
    if (replaced !== undefined) table.unretain(replaced)
    m.on('status', ({ status }) => (status === 'stopped' ? this.#retainStopped(m) : table.unretain(m)))
    m.started.catch(() => table.unretain(m))
    if (m.status === 'stopped') this.#retainStopped(m)
    return m
  }

  // A stopped managed process counts among the ended ones the retention bounds cover:
  // forgotten oldest first past maxExited, its output inside retainTotalBytes.
  #retainStopped(m: ManagedProcess): void {
    this.#table.retainEnded(m, {
      bytes: m.log.bytes,
      release: () => m.log.release(),
      forget: () => this.#registry.forget(m),
    })
  }

  /**
   * Starts `req.command` on a new pseudo-terminal (docs/pty.md), on the same spawn path
   * as `run`/`start`: credentials, its own cgroup, `memory_limit`, OOM reporting.
   * Throws a TypeError (code INVALID_REQUEST) for a bad field; start failures reject
   * `started`/`exited` and emit `error`.
   */
  pty(req: PtyRequest): PtySession {
    return this.#keepPty(new PtySession(this.#table, req))
  }

  #keepPty(session: PtySession): PtySession {
    this.#ptys.add(session)
    void session.child.ended.then(() => this.#ptys.delete(session))
    return session
  }

  /** The managed process holding `name`. */
  managed(name: string): ManagedProcess | undefined {
    return this.#registry.byName(name)
  }

  /** The managed process that `run` is a run of, if any. */
  managedOf(run: SupervisedProcess): ManagedProcess | undefined {
    return this.#registry.ownerOf(run)
  }

  /** Every managed process (replaced holders excluded), oldest first. */
  managedProcesses(): ManagedProcess[] {
    return this.#registry.all()
  }

  /** ProcessInfo of the newest process that had this pid; a run of a managed process carries `managed`. */
  get(pid: number): ProcessInfo | undefined {
    const run = this.process(pid)
    if (run === undefined) return undefined
    return this.managedOf(run)?.infoOf(run) ?? run.info()
  }

  /** The process object of the newest process that had this pid. */
  process(pid: number): SupervisedProcess | undefined {
    return this.#table.process(pid)
  }

  /** Running and retained exited processes, oldest first (each run its own entry). */
  processes(): SupervisedProcess[] {
    return this.#table.processes()
  }

  /**
   * Running and retained exited processes, oldest first; a managed process once, as its
   * current run, where that run is in the table (else at the end).
   */
  list(): ProcessInfo[] {
    const out: ProcessInfo[] = []
    const listed = new Set<ManagedProcess>()
    const live = new Set(this.#registry.all())
    for (const p of this.processes()) {
      const m = this.managedOf(p)
      if (m === undefined) out.push(p.info())
      else if (live.has(m) && !listed.has(m) && m.info().pid === p.pid) {
        listed.add(m)
        out.push(m.info())
      }
    }
    for (const m of live) if (!listed.has(m) && m.info().pid !== 0) out.push(m.info())
    return out
  }

  /** Adds an observer of every launch (metrics, an audit log). Returns the function that removes it. */
  observe(observer: SupervisorObserver): () => void {
    return this.#table.observe(observer)
  }

  /** Processes running now. */
  get running(): number {
    return this.#table.running
  }

  /** Processes running now plus launches not spawned yet: what a cap on processes counts. */
  get active(): number {
    return this.#table.active
  }

  /** Processes started since construction. */
  get total(): number {
    return this.#table.total
  }

  /** The base working directory of the children (`cwd`), absolute. */
  get cwd(): string {
    return this.#table.cwd
  }

  /** Resolves once the cgroups kept ready for the next spawns are made and opened. Never rejects. */
  ready(): Promise<void> {
    return this.#table.ready()
  }

  /**
   * Live upgrade (docs/upgrade.md): re-executes the program from disk in the same pid and
   * hands it every running process (pidfd, pipes, cgroup, remaining timeout, retained
   * output with its line ids) and every managed process (restart counts, the backoff
   * left, health state, its log); the new program takes them with {@link Supervisor.adopt}.
   * A managed process in the middle of a start, a restart or a stop is waited for first.
   * Never resolves; rejects, leaving everything as it was, with code `HANDOVER_REFUSED`
   * (no `handover: true`, a frozen process), `HANDOVER_CHECK_FAILED`, `HANDOVER_BUSY` or
   * `HANDOVER_EXEC_FAILED`.
   */
  handover(opts: HandoverOptions = {}): Promise<never> {
    return handOver(
      this.#table,
      this.#old,
      () => this.#refusal(),
      opts,
      {
        inBetween: () => managedInBetween(this.#registry.all()),
        capture: (state) => (state.managed = captureManaged(this.#registry.all(), state)),
        // A managed process's ended runs are its own (docs/upgrade.md), not plain processes of the table.
        listed: (p) => this.managedOf(p) === undefined,
      },
      () => [...this.#ptys],
    )
  }

  /**
   * The other side of {@link handover}: when this program was started by a live upgrade,
   * a supervisor holding the old one's processes, its managed processes (each going on
   * where it stood: its run, counts, backoff and probes) and its running PTY sessions
   * (`ptys`, in the order they were made), and the `extra` it handed over; null
   * otherwise. `opts` are this supervisor's own (`handover` is forced on).
   * @throws Error when a handover state is announced but cannot be read.
   */
  static adopt(
    opts: SupervisorOptions = {},
  ): { supervisor: Supervisor; extra: unknown; swapMs: number; ptys: PtySession[] } | null {
    const state = takeHandoverState()
    if (state === null) return null
    const supervisor = new Supervisor({ ...opts, handover: true })
    const bounds = { retainBytes: supervisor.#retainBytes, retainHeadBytes: supervisor.#retainHeadBytes }
    const adopted = adoptAll(supervisor.#table, state, bounds)
    supervisor.#old = adopted.old
    const runs = new Map(adopted.processes.map((p) => [p.handle, p]))
    const transitMs = Math.max(0, Date.now() - state.capturedAt)
    for (const r of state.managed ?? []) {
      const { opts: o, from } = resumeManaged(r, runs, supervisor.#table.native, bounds, transitMs)
      supervisor.#keep(new ManagedProcess({ ...o, host: supervisor.#host }, from))
    }
    const ptys = adopted.ptys.map((s) => supervisor.#keepPty(s))
    return { supervisor, extra: state.extra, swapMs: Date.now() - state.capturedAt, ptys }
  }

  #refusal(): { message: string; code: string } | null {
    const refused = (message: string): { message: string; code: string } => ({ message, code: 'HANDOVER_REFUSED' })
    if (!this.#handover) return refused('the supervisor was made without handover: true')
    if (this.#closing || this.#table.handoverView.closed) return refused('the supervisor is closing')
    // A frozen tree's freezer and stopped clocks are not in the state file (docs/freeze.md).
    const frozen = this.#table.handoverView.running.find((p) => p.frozen)
    if (frozen !== undefined) return refused(`process ${frozen.pid} is frozen: thaw it first`)
    return null
  }

  /**
   * Cancels every pending restart and probe, then SIGTERM to every running process tree,
   * SIGKILL after `killGrace`, waits until all are reaped and drained, then removes the
   * cgroups. Idempotent; nothing starts after.
   */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true
      for (const m of this.#registry.all()) m.shutdown()
    }
    return this.#table.close()
  }
}

/** `sup.pty(req)` as a function. */
export function openPty(sup: Supervisor, req: PtyRequest): PtySession {
  return sup.pty(req)
}
