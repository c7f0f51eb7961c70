/**
 * The wire types of the process API (`shared/spec/process-api.md`). Event objects are
 * exactly the JSON of the spec (snake_case keys) so that a front end serialises them
 * without mapping.
 */

/** Who the child runs as. See spec §1 for each form. */
export type UserSpec = string | { uid: number; gid?: number } | { name: string }

/** Fields shared by `run` and `start` (spec §1). */
export interface RunRequest {
  /** Program to execute. No shell; a name without `/` is looked up in the child's PATH. */
  command: string
  /** argv[1..]. */
  args?: string[]
  /** Applied on top of the supervisor's base environment. */
  env?: Record<string, string>
  /** The child's cwd; must exist. Default: the supervisor's base working dir. */
  working_dir?: string
  /** Credentials of the child. Default: the supervisor's own. */
  user?: UserSpec
  /** Seconds (> 0, fractions allowed): SIGKILL the whole tree once it runs this long. */
  timeout?: number
  /** sandproc extension: hard memory limit of the process's own cgroup (bytes or "256M"). */
  memory_limit?: number | string
  /** sandproc extension: most tasks (processes and threads) of the whole tree at once, `pids.max` of its cgroup (integer >= 1). */
  pids_limit?: number
  /** sandproc extension: CPUs the tree may use, a CFS quota over a 100 ms period (`0.5`, `2`). */
  cpu_limit?: number
}

/** `start` adds stdio modes (spec §1). */
export interface StartRequest extends RunRequest {
  stdin_mode?: 'closed' | 'pipe'
  stdout_mode?: 'capture' | 'discard'
  stderr_mode?: 'capture' | 'discard'
}

export type StreamName = 'stdout' | 'stderr'

/** First event of every process. */
export interface StartEvent {
  handle: number
  pid: number
  /** Milliseconds since the epoch. */
  started_at: number
}

/** One line of output (without its `\n` and trailing `\r`). */
export interface OutputEvent {
  line: string
  /** When the supervisor read the bytes, ms since the epoch. Never goes backwards. */
  timestamp: number
  stream: StreamName
}

/** Resource figures of a finished process (sandproc extension). */
export interface Usage {
  /** Spawn to reap, milliseconds. */
  wall_ms: number
  /** CPU time of the main process and its reaped descendants, from `waitid`'s rusage. */
  user_cpu_ms: number
  system_cpu_ms: number
  /** Peak memory of the process's cgroup; null without a usable memory cgroup. */
  memory_peak_bytes: number | null
  /** With a pids limit: most tasks (processes and threads) at once (`pids.peak`); null when the kernel lacks it. */
  pids_peak?: number | null
  /** With a CPU limit: time the tree spent throttled by its quota (`cpu.stat`); null when unreadable. */
  cpu_throttled_ms?: number | null
}

/**
 * The last event. Exactly one of `exit_code` or `signal` is set (Node's rule);
 * `oom_killed: true` appears only with `signal: 9` (spec §4).
 */
export interface ExitEvent {
  exit_code?: number
  signal?: number
  oom_killed?: true
  /** sandproc: the timeout fired and sandproc killed the tree. */
  timed_out?: true
  /** sandproc: rise of the cgroup's OOM-kill counter during the process's life (any process of its tree). Absent when OOM detection is off. */
  oom_kills?: number
  /** sandproc: with a pids limit, forks and clones the limit refused (`pids.events` `max`; they failed with EAGAIN). */
  pids_limit_hits?: number
  /** sandproc: resource figures. */
  usage?: Usage
}

export type ProcessEvent = StartEvent | OutputEvent | ExitEvent

export type ProcessStatus = 'running' | 'exited' | 'signaled' | 'oom_killed'

/** ProcessInfo of spec §2. */
export interface ProcessInfo {
  handle: number
  pid: number
  status: ProcessStatus
  exit_code: number | null
  signal: number | null
  oom_killed: boolean
  stdin_writable: boolean
  command: string
  args: string[]
  started_at: number
  ended_at: number | null
  /** sandproc: once exited, with a pids limit: forks the limit refused (as in the exit event). */
  pids_limit_hits?: number
  /** sandproc: the credentials the process runs with; null until it has started. */
  user: { uid: number; gid: number } | null
  /** sandproc: the `run` timeout fired and sandproc killed the tree. */
  timed_out: boolean
  /** sandproc: resource figures once the process has exited, else null. */
  usage: Usage | null
  /** Only on a run of a managed process (spec §5). */
  managed?: ManagedInfo
}

/** When a run that ended by itself is followed by another (spec §5). */
export type RestartPolicy = 'never' | 'on_failure' | 'always'

/** `restart` of a managed start request (spec §5); omitted fields take their defaults. */
export interface RestartSpec {
  /** Default `"on_failure"`. */
  policy?: RestartPolicy
  /** Automatic restarts allowed since the last start or manual restart; null (default): no limit. */
  max_restarts?: number | null
  /** Delay before the first automatic restart, ms (default 500). */
  initial_backoff_ms?: number
  /** Cap of the delay, ms (default 30000, or `initial_backoff_ms` if larger). */
  max_backoff_ms?: number
}

/** `health_check` of a managed start request (spec §5). Probes go to 127.0.0.1. */
export interface HealthCheckSpec {
  /** `http`: GET passes on 200–399; `tcp`: a connect passes. */
  type: 'http' | 'tcp'
  port: number
  /** http only; must start with `/` (default `"/"`). */
  path?: string
  /** First probe this long after each run starts, ms (default 5000). */
  initial_delay_ms?: number
  /** From the end of one probe to the start of the next, ms (default 1000). */
  interval_ms?: number
  /** A probe not answered by then fails and is aborted, ms (default 500). */
  timeout_ms?: number
  /** Consecutive failures that make the run unhealthy (default 3). */
  failure_threshold?: number
}

/**
 * A `start` request for a managed process: at least one of `name`, `restart` or
 * `health_check` (spec §5).
 */
export type ManagedStartRequest = StartRequest & {
  /** Non-empty, at most 255 bytes, no `/`, no control characters, not all digits. */
  name?: string
  restart?: RestartSpec
  health_check?: HealthCheckSpec
} & ({ name: string } | { restart: RestartSpec } | { health_check: HealthCheckSpec })

/** Managed status (spec §5). */
export type ManagedStatus = 'starting' | 'running' | 'backing_off' | 'stopped'

/** Health status (spec §5). */
export type HealthStatus = 'disabled' | 'starting' | 'healthy' | 'unhealthy'

/** How the latest run ended. */
export interface LastExit {
  exit_code: number | null
  signal: number | null
  oom_killed: boolean
  ended_at: number
}

/** The `managed` object of a managed process's ProcessInfo: every field always present. */
export interface ManagedInfo {
  /** The name, or an opaque id (`m<handle>`) without one. */
  id: string
  name: string | null
  status: ManagedStatus
  /** Every restart, automatic and manual; never resets. */
  restart_count: number
  restart: Required<RestartSpec> & { max_restarts: number | null }
  health_check: Required<HealthCheckSpec> | null
  health_status: HealthStatus
  consecutive_health_failures: number
  last_exit: LastExit | null
  /** Why a run could not start or no restart followed; cleared when a run starts. */
  last_error: string | null
  /** While `backing_off`: when the next run starts (ms since the epoch); else null. */
  next_restart_at: number | null
}
