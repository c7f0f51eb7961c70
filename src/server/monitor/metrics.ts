/**
 * The server's Prometheus metrics (docs/monitoring.md): one prom-client registry per
 * server, fed by a supervisor observer and by the request dispatcher. No label carries a
 * pid, a command or anything a client chose.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

import type { SupervisorObserver } from '../../core/observer.js'
import type { SupervisedProcess } from '../../core/process.js'
import type { ExitEvent, StreamName } from '../../types.js'

const STREAMS: readonly StreamName[] = ['stdout', 'stderr']

/** What the gauges read at scrape time. */
export interface MetricSources {
  running: () => number
  ptySessions: () => number
}

export class ServerMetrics {
  readonly registry = new Registry()
  readonly #live = new Set<SupervisedProcess>()
  /** Output bytes of processes no longer live, per stream. */
  readonly #doneBytes = { stdout: 0, stderr: 0 }
  readonly #started: Counter
  readonly #exited: Counter<'reason'>
  readonly #oomKills: Counter
  readonly #spawnSeconds: Histogram
  readonly #spawnFailures: Counter<'code'>
  readonly #restarts: Counter
  readonly #ptyCreated: Counter
  readonly #http: Counter<'route' | 'status'>

  constructor(sources: MetricSources) {
    const registers = [this.registry]
    const live = this.#live
    const doneBytes = this.#doneBytes
    this.#started = new Counter({
      name: 'sandproc_processes_started_total',
      help: 'Processes that started (run, start, managed runs).',
      registers,
    })
    this.#exited = new Counter({
      name: 'sandproc_processes_exited_total',
      help: 'Processes that exited, by end reason.',
      labelNames: ['reason'],
      registers,
    })
    this.#oomKills = new Counter({
      name: 'sandproc_oom_kills_total',
      help: "Kernel OOM kills in the processes' cgroups.",
      registers,
    })
    new Gauge({
      name: 'sandproc_processes_running',
      help: 'Processes running now.',
      registers,
      collect() {
        this.set(sources.running())
      },
    })
    this.#spawnSeconds = new Histogram({
      name: 'sandproc_spawn_seconds',
      help: 'From the request to the start event, seconds.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    })
    this.#spawnFailures = new Counter({
      name: 'sandproc_spawn_failures_total',
      help: 'Processes that could not start, by error code.',
      labelNames: ['code'],
      registers,
    })
    new Counter({
      name: 'sandproc_output_bytes_total',
      help: 'Bytes read from the processes, by stream.',
      labelNames: ['stream'],
      registers,
      // Read at scrape time, so a long-running process counts before it exits.
      collect() {
        this.reset()
        for (const stream of STREAMS) {
          let n = doneBytes[stream]
          for (const p of live) n += p.outputBytes(stream)
          this.inc({ stream }, n)
        }
      },
    })
    new Gauge({
      name: 'sandproc_pty_sessions',
      help: 'Live PTY sessions.',
      registers,
      collect() {
        this.set(sources.ptySessions())
      },
    })
    this.#ptyCreated = new Counter({
      name: 'sandproc_pty_sessions_created_total',
      help: 'PTY sessions created.',
      registers,
    })
    this.#restarts = new Counter({
      name: 'sandproc_managed_restarts_total',
      help: 'Runs of managed processes that replaced a previous run.',
      registers,
    })
    this.#http = new Counter({
      name: 'sandproc_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status.',
      labelNames: ['route', 'status'],
      registers,
    })
    collectDefaultMetrics({ register: this.registry })
  }

  /** The supervisor observer that feeds the process metrics. */
  readonly observer: SupervisorObserver = {
    launched: (proc) => {
      const t0 = performance.now()
      proc.started.then(
        () => {
          this.#spawnSeconds.observe((performance.now() - t0) / 1000)
          this.#started.inc()
          this.#live.add(proc)
        },
        (err: { code?: unknown }) => this.#spawnFailures.inc({ code: codeLabel(err.code) }),
      )
      proc.exited.then((ev) => this.#exit(proc, ev), noop)
    },
    restarted: () => this.#restarts.inc(),
  }

  ptyCreated(): void {
    this.#ptyCreated.inc()
  }

  /** A response ended; `route` is a route pattern or a fixed word, never the raw path. */
  request(route: string, status: number): void {
    this.#http.inc({ route, status: String(status) })
  }

  #exit(proc: SupervisedProcess, ev: ExitEvent): void {
    this.#exited.inc({ reason: ev.reason })
    const kills = ev.oom_kills ?? (ev.oom_killed === true ? 1 : 0)
    if (kills > 0) this.#oomKills.inc(kills)
    for (const stream of STREAMS) this.#doneBytes[stream] += proc.outputBytes(stream)
    this.#live.delete(proc)
  }
}

/** Error codes are errno names or our own upper-case codes; anything else is one label. */
function codeLabel(code: unknown): string {
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,39}$/.test(code) ? code : 'OTHER'
}

function noop(): void {}
