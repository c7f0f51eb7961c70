/**
 * A managed process (docs/protocol.md "Managed processes"): one object across any
 * number of runs, each a new OS process. It owns the state machine (`starting`,
 * `running`, `backing_off`, `stopped`), the restart policy with its backoff, the
 * health check of each run and one output log across runs. Every timer and every async
 * continuation re-checks the state (an epoch that DELETE, restart and close advance)
 * before it acts.
 */
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'

import { coded, type CodedError } from '../errors.js'
import type { SupervisedProcess } from '../core/process.js'
import type { OutputLog } from '../core/retain.js'
import type { Normalized } from '../core/validate.js'
import type { ExitEvent, LastExit, ManagedInfo, ManagedStatus, OutputEvent, ProcessInfo, StartEvent } from '../types.js'
import type { EndReason, ManagedEvents } from './events.js'
import type { ManagedSpec } from './fields.js'
import { lastExitOf, managedInfo } from './info.js'
import { PendingRestart } from './pending-restart.js'
import { nextStep } from './policy.js'
import { RunHealth } from './run-health.js'
import { endGracefully, OpQueue, settled } from './runs.js'
import type { ManagedSnapshot } from './snapshot.js'

/** What a managed process needs from its supervisor. */
export interface RunHost {
  /** Queues the spawn of one run (throws once the supervisor is closed). */
  launch(req: Normalized): SupervisedProcess
  /** True once the supervisor's close() began: nothing may start any more. */
  readonly closing: boolean
  /** Milliseconds between SIGTERM and SIGKILL when a run is ended gracefully. */
  readonly killGrace: number
}

export interface ManagedOptions {
  request: Normalized
  spec: ManagedSpec
  host: RunHost
  log: OutputLog
}

/** What the new program of a live upgrade rebuilds a managed process from (docs/upgrade.md). */
export interface Resumed {
  snapshot: ManagedSnapshot
  /** The adopted current run while `running`; else a stand-in of the last run shown. */
  run: SupervisedProcess
}

const noop = (): void => {}

/**
 * A process the supervisor keeps running. Emits the events of {@link ManagedEvents}.
 * `started` resolves with the first run's start event, or rejects with its spawn error
 * (then nothing is kept).
 */
export class ManagedProcess extends EventEmitter<ManagedEvents> {
  /** The name, or an opaque id without one. */
  readonly id: string
  readonly name: string | null
  /** One output log across every run. */
  readonly log: OutputLog
  /** The first run's start event; rejects with its spawn error. */
  readonly started: Promise<StartEvent>

  readonly #req: Normalized
  readonly #spec: ManagedSpec
  readonly #host: RunHost
  readonly #ops = new OpQueue()
  /** Why the supervisor is ending a run, per run. */
  readonly #ending = new WeakMap<SupervisedProcess, EndReason>()
  #status: ManagedStatus = 'starting'
  /** The latest run launched (possibly still queued). */
  #run: SupervisedProcess
  /** The latest run that started: the one ProcessInfo shows. */
  #shown: SupervisedProcess | null = null
  #epoch = 0
  readonly #pending = new PendingRestart()
  readonly #health: RunHealth
  #startedMono = 0
  /** k of the backoff rule: consecutive automatic restarts. */
  #consecutive = 0
  /** Automatic restarts since the last start or manual restart (max_restarts). */
  #automatic = 0
  #restartCount = 0
  #lastExit: LastExit | null = null
  #lastError: string | null = null
  #firstStarted!: (ev: StartEvent) => void
  #firstFailed!: (err: CodedError) => void

  /** Starts the first run; with `from`, goes on as the old program of a live upgrade left it. */
  constructor(opts: ManagedOptions, from?: Resumed) {
    super()
    this.#req = opts.request
    this.#spec = opts.spec
    this.#host = opts.host
    this.log = opts.log
    this.name = opts.spec.name
    this.id = from?.snapshot.id ?? opts.spec.name ?? randomUUID()
    this.#health = new RunHealth(opts.spec.healthCheck, {
      onChange: (c) => this.emit('health', c),
      onProbe: (ev) => this.emit('probe', ev),
      // An unhealthy run is ended as a tree; its exit counts as a failure.
      onUnhealthy: () => void this.#end(this.#run, 'unhealthy', () => endGracefully(this.#run, this.#host.killGrace)),
    })
    this.started = new Promise((res, rej) => ((this.#firstStarted = res), (this.#firstFailed = rej)))
    this.started.catch(noop)
    this.#run = from === undefined ? this.#spawn() : this.#resume(from)
  }

  get status(): ManagedStatus {
    return this.#status
  }

  /** The current run: the latest launched (queued while `starting`). Signals and stdin go here. */
  get current(): SupervisedProcess {
    return this.#run
  }

  /** ProcessInfo of the current run (the previous one while a later run is queued), with `managed`. */
  info(): ProcessInfo {
    return this.infoOf(this.#shown ?? this.#run)
  }

  /** ProcessInfo of one of this process's runs, with `managed`. */
  infoOf(run: SupervisedProcess): ProcessInfo {
    return { ...run.info(), managed: this.managedInfo() }
  }

  /** The `managed` object of ProcessInfo (docs/managed.md), every field present. */
  managedInfo(): ManagedInfo {
    return managedInfo({
      id: this.id,
      spec: this.#spec,
      status: this.#status,
      restartCount: this.#restartCount,
      health: this.#health.status,
      failures: this.#health.failures,
      lastExit: this.#lastExit,
      lastError: this.#lastError,
      nextRestartAt: this.#pending.nextRestartAt,
    })
  }

  /**
   * Manual restart (docs/protocol.md "Managed processes": "Operations"): ends the
   * current run (SIGTERM, SIGKILL after the kill grace) and waits until it is
   * reaped, or cancels a pending restart, then starts a new run at once. Resolves
   * with the new run's ProcessInfo once it has started; rejects with its spawn error
   * (the policy then decides what follows). Restarts and stops apply one at a time,
   * in order.
   */
  restart(): Promise<ProcessInfo> {
    return this.#ops.run(async () => {
      this.#refuseIfClosing()
      this.#epoch++
      this.#pending.cancel()
      if (this.#live()) await this.#end(this.#run, 'restart', () => endGracefully(this.#run, this.#host.killGrace))
      if (this.#host.closing) {
        this.#toStopped()
        this.#refuseIfClosing()
      }
      this.#consecutive = 0
      this.#automatic = 0
      this.#restartCount++
      const run = this.#spawn()
      this.emit('restart', run, false)
      await run.started
      return this.infoOf(run)
    })
  }

  /**
   * DELETE (docs/protocol.md "Managed processes": "Operations"): SIGKILL to the
   * current tree and wait until it is reaped, or cancel a pending restart; then
   * `stopped`, and nothing restarts.
   */
  stop(): Promise<void> {
    return this.#ops.run(async () => {
      this.#epoch++
      this.#pending.cancel()
      const run = this.#run
      if (this.#live()) {
        await this.#end(run, 'delete', () => {
          run.killTree()
          return settled(run)
        })
      }
      this.#toStopped()
    })
  }

  /** The supervisor is closing: cancel every timer and probe; the core ends the run. */
  shutdown(): void {
    this.#epoch++
    this.#pending.cancel()
    if (this.#live()) {
      this.#ending.set(this.#run, 'close')
      this.#health.stop()
    } else if (this.#status === 'backing_off') {
      this.#toStopped()
    }
  }

  /**
   * What a live upgrade carries (docs/upgrade.md); null while it is between two states
   * a snapshot cannot describe: a run starting or being ended, a restart or DELETE under way.
   */
  handoverSnapshot(): ManagedSnapshot | null {
    const status = this.#status
    const ending = this.#ending.has(this.#run)
    if (this.#ops.busy || status === 'starting' || this.#shown === null || (status === 'running' && ending)) return null
    return {
      id: this.id,
      request: this.#req,
      spec: this.#spec,
      status,
      restartCount: this.#restartCount,
      automatic: this.#automatic,
      consecutive: this.#consecutive,
      lastExit: this.#lastExit,
      lastError: this.#lastError,
      shown: this.#shown.info(),
      encoding: this.#shown.encoding,
      runHandle: status === 'running' ? this.#run.handle : null,
      ranMs: performance.now() - this.#startedMono,
      nextRestartAt: this.#pending.nextRestartAt,
      health: this.#health.state,
    }
  }

  /** Resolves once what keeps {@link handoverSnapshot} null has moved on (it may be null again). */
  moved(): Promise<void> {
    const run = this.#run
    const ending = this.#ending.has(run) ? settled(run) : null
    const starting = this.#status === 'starting' ? run.started.then(noop, noop) : null
    return Promise.all([this.#ops.idle(), ending, starting]).then(noop)
  }

  #resume({ snapshot: s, run }: Resumed): SupervisedProcess {
    this.#status = s.status
    this.#restartCount = s.restartCount
    this.#automatic = s.automatic
    this.#consecutive = s.consecutive
    this.#lastExit = s.lastExit
    this.#lastError = s.lastError
    this.#shown = run
    this.#startedMono = performance.now() - s.ranMs
    this.#health.resume(s.health)
    if (s.status === 'running') this.#listen(run)
    // What was left of the backoff, the swap's own time counted: due when it was.
    const now = Date.now()
    if (s.nextRestartAt !== null) this.#scheduleRestart(Math.max(0, s.nextRestartAt - now), now)
    this.#firstStarted({ handle: s.shown.handle, pid: s.shown.pid, started_at: s.shown.started_at })
    return run
  }

  #live(): boolean {
    return (this.#status === 'starting' || this.#status === 'running') && this.#run.running
  }

  async #end(run: SupervisedProcess, reason: EndReason, how: () => Promise<void>): Promise<void> {
    this.#ending.set(run, reason)
    this.#health.stop()
    await how()
  }

  #refuseIfClosing(): void {
    if (this.#host.closing) throw coded('the supervisor is closed', 'ERR_SUPERVISOR_CLOSED')
  }

  #spawn(): SupervisedProcess {
    const run = this.#host.launch(this.#req)
    this.#run = run
    this.log.reopen()
    this.#setStatus('starting')
    this.#listen(run)
    return run
  }

  #listen(run: SupervisedProcess): void {
    run.on('output', this.#onOutput)
    run.on('start', (ev) => this.#onStart(run, ev))
    run.on('exit', (ev) => this.#onExit(run, ev))
    run.on('error', (err) => this.#onSpawnError(run, err as CodedError))
  }

  #onOutput = (ev: OutputEvent): void => {
    this.log.push(ev)
    this.emit('output', ev)
  }

  #onStart(run: SupervisedProcess, ev: StartEvent): void {
    this.#shown = run
    this.#lastError = null
    this.#startedMono = performance.now()
    const ending = this.#ending.has(run)
    this.#health.runStarted(!ending)
    // A run that DELETE, restart or close is already ending never shows as running.
    if (!ending) this.#setStatus('running')
    this.emit('start', ev, run)
    this.#firstStarted(ev)
  }

  #onSpawnError(run: SupervisedProcess, err: CodedError): void {
    // The addon's messages name the errno code already ("execve ENOENT: ...").
    this.#lastError = `spawn failed: ${err.message.includes(err.code) ? err.message : `${err.code}: ${err.message}`}`
    if (this.#shown === null) {
      // The first run: the start request fails and nothing is kept.
      this.#toStopped()
      this.#firstFailed(err)
      return
    }
    this.emit('spawn-error', err, run)
    if (this.#ending.has(run)) return
    this.#afterEnd(true, 0, this.#lastError)
  }

  #onExit(run: SupervisedProcess, ev: ExitEvent): void {
    if (run === this.#run) this.#health.stop()
    // How long the run lasted: spawn to reap, without the drain and cgroup sweep after it.
    const ranMs = ev.usage?.wall_ms ?? performance.now() - this.#startedMono
    this.#lastExit = lastExitOf(ev, run.info().ended_at ?? Date.now())
    const endedBy = this.#ending.get(run) ?? null
    const failure = endedBy === 'unhealthy' || (endedBy === null && (ev.exit_code !== 0 || ev.signal !== undefined))
    this.emit('exit', ev, run, { failure, ended_by: endedBy })
    // DELETE and restart decide what follows themselves.
    if (endedBy === 'delete' || endedBy === 'restart') return
    if (endedBy === 'close' || this.#host.closing) return this.#toStopped()
    this.#afterEnd(failure, ranMs)
  }

  /** The run ended by itself (or was unhealthy, or could not start): the policy decides. */
  #afterEnd(failure: boolean, ranMs: number, spawnError: string | null = null): void {
    const step = nextStep(
      failure,
      ranMs,
      { consecutive: this.#consecutive, automatic: this.#automatic },
      this.#spec.restart,
    )
    if (step.action === 'stop') {
      // The spawn failure stays visible behind the reason no restart followed.
      if (step.error !== null)
        this.#lastError =
          spawnError === null ? step.error : `${step.error}; the last run could not start: ${spawnError}`
      return this.#toStopped()
    }
    const { attempt, delayMs } = step
    this.#consecutive = attempt
    const at = Date.now()
    const due = this.#scheduleRestart(delayMs, at)
    this.#setStatus('backing_off')
    this.emit('scheduled', { attempt, delay_ms: delayMs, next_restart_at: due, at })
  }

  /** The automatic restart `delayMs` from `at`; returns when it is due. */
  #scheduleRestart(delayMs: number, at: number): number {
    const epoch = this.#epoch
    return this.#pending.schedule(delayMs, at, () => {
      // DELETE, restart or close since then: this restart is not theirs to make.
      if (epoch !== this.#epoch || this.#status !== 'backing_off' || this.#host.closing) return
      this.#automatic++
      this.#restartCount++
      this.emit('restart', this.#spawn(), true)
    })
  }

  #toStopped(): void {
    this.#pending.cancel()
    this.#health.stop()
    this.#setStatus('stopped')
    // Follows end once the process is stopped and its last run's output is drained.
    this.log.end()
  }

  #setStatus(status: ManagedStatus): void {
    const previous = this.#status
    if (previous === status) return
    this.#status = status
    this.emit('status', { status, previous, at: Date.now() })
  }
}
