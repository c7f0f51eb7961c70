/**
 * The supervisor as the public API has it: the core {@link CoreSupervisor} plus managed
 * processes (spec §5). `start()` with `name`, `restart` or `health_check` returns a
 * {@link ManagedProcess}; the pid lookups and the listing know which runs are managed.
 */
import { Supervisor as CoreSupervisor, type SupervisorOptions } from './core/table.js'
import type { SupervisedProcess } from './core/process.js'
import { resolveOptions } from './core/options.js'
import { LINE_HEAP_OVERHEAD, OutputLog } from './core/retain.js'
import { normalize } from './core/validate.js'
import { coded } from './errors.js'
import type { ManagedStartRequest, ProcessInfo, StartRequest } from './types.js'
import { isManagedRequest, managedSpec } from './managed/fields.js'
import { ManagedProcess, type RunHost } from './managed/process.js'
import { ManagedRegistry } from './managed/registry.js'

export type { SupervisorOptions }

/**
 * Starts processes, keeps managed ones running, and keeps the table. See README.
 */
export class Supervisor extends CoreSupervisor {
  readonly #registry = new ManagedRegistry()
  readonly #host: RunHost
  readonly #retainBytes: number
  readonly #retainHeadBytes: number
  #closing = false

  constructor(opts: SupervisorOptions = {}) {
    super(opts)
    const settings = resolveOptions(opts)
    this.#retainBytes = settings.retainBytes
    this.#retainHeadBytes = settings.retainHeadBytes
    const self = this
    this.#host = {
      launch: (req) => this.startRun(req),
      get closing() {
        return self.#closing
      },
      killGrace: settings.killGrace,
    }
  }

  /**
   * Starts a background process. With any of `name`, `restart` or `health_check` it is
   * managed: the returned {@link ManagedProcess} stays the same across its runs.
   *
   * @throws TypeError (code `INVALID_REQUEST`) naming a bad field; Error with code
   *   `NAME_IN_USE` when a managed process that is not stopped holds the name.
   */
  override start(req: ManagedStartRequest): ManagedProcess
  override start(req: StartRequest): SupervisedProcess
  override start(req: StartRequest | ManagedStartRequest): SupervisedProcess | ManagedProcess {
    return isManagedRequest(req) ? this.startManaged(req) : super.start(req)
  }

  /** `start()` for a request that is managed whatever fields it has (a managed process with defaults). */
  startManaged(req: StartRequest & Partial<Pick<ManagedStartRequest, 'name' | 'restart' | 'health_check'>>): ManagedProcess {
    const request = normalize(req, 'start')
    const spec = managedSpec(req as unknown as Record<string, unknown>)
    if (this.#closing) throw coded('the supervisor is closed', 'ERR_SUPERVISOR_CLOSED')
    if (spec.name !== null) this.#registry.checkName(spec.name)
    const log = new OutputLog({ maxBytes: this.#retainBytes, headBytes: this.#retainHeadBytes, lineOverhead: LINE_HEAP_OVERHEAD })
    const m = new ManagedProcess({ request, spec, host: this.#host, log })
    const replaced = spec.name === null ? undefined : this.#registry.byName(spec.name)
    this.#registry.add(m)
    m.on('restart', (run, automatic) => this.observers.restarted(spec.name, run, automatic))
    if (replaced !== undefined) this.unretain(replaced)
    // A stopped managed process counts among the ended ones the retention bounds cover:
    // forgotten oldest first past maxExited, its output inside retainTotalBytes.
    m.on('status', ({ status }) => {
      if (status !== 'stopped') return this.unretain(m)
      this.retainEnded(m, { bytes: m.log.bytes, release: () => m.log.release(), forget: () => this.#registry.forget(m) })
    })
    m.started.catch(() => this.unretain(m))
    return m
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
  override get(pid: number): ProcessInfo | undefined {
    const run = this.process(pid)
    if (run === undefined) return undefined
    return this.managedOf(run)?.infoOf(run) ?? run.info()
  }

  /**
   * Running and retained exited processes, oldest first; a managed process once, as its
   * current run, where that run is in the table (else at the end).
   */
  override list(): ProcessInfo[] {
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

  /** Cancels every pending restart and probe, then closes as the core does; nothing starts after. */
  override close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true
      for (const m of this.#registry.all()) m.shutdown()
    }
    return super.close()
  }
}
