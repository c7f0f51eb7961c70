/**
 * The wire types of the process API (docs/protocol.md). Event objects are exactly the
 * JSON of the protocol (snake_case keys) so that a front end serialises them without
 * mapping.
 */

/** Who the child runs as. See docs/protocol.md "Requests" for each form. */
export type UserSpec = string | { uid: number; gid?: number } | { name: string }

/** Fields shared by `run` and `start` (docs/protocol.md "Requests"). */
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
  /**
   * sandproc extension: seconds (>= 0, default 0) between the SIGTERM a `timeout` or
   * `idle_timeout` sends to the whole tree and the SIGKILL to what is left. 0: SIGKILL at once.
   */
  timeout_grace?: number
  /** sandproc extension: seconds (> 0) without a byte on stdout or stderr that end the process as a timeout does. */
  idle_timeout?: number
  /** sandproc extension: `"stdout"` makes stderr the same pipe as stdout (exact order, every line tagged stdout). */
  stderr_mode?: 'capture' | 'discard' | 'stdout'
  /** sandproc extension: `"base64"` gives output as chunks of exact bytes instead of lines (default `"utf8"`). */
  output_encoding?: OutputEncoding
  /**
   * sandproc extension, `run` only: bytes of output sent live (the first half) and kept for
   * the end (the last half, whole lines); what falls between is dropped and counted.
   */
  max_output_bytes?: number
}

/** How output is delivered: lines of text, or chunks of exact bytes. */
export type OutputEncoding = 'utf8' | 'base64'

/** `start` adds stdio modes (docs/protocol.md "Requests"). */
export interface StartRequest extends RunRequest {
  stdin_mode?: 'closed' | 'pipe'
  stdout_mode?: 'capture' | 'discard'
  stderr_mode?: 'capture' | 'discard' | 'stdout'
}

/**
 * Why a process ended (see docs/endings.md). Exactly one per exited process; it never
 * contradicts `oom_killed` or `timed_out`.
 */
export type ExitReason = 'exited' | 'signaled' | 'oom_killed' | 'timed_out' | 'idle_timeout' | 'killed'

/** With `reason: "killed"`: who ended it. */
export type KilledBy = 'api' | 'client_gone' | 'shutdown'

export type StreamName = 'stdout' | 'stderr'

/** First event of every process. */
export interface StartEvent {
  handle: number
  pid: number
  /** Milliseconds since the epoch. */
  started_at: number
}

/**
 * One line of output (without its `\n` and trailing `\r`), or with `output_encoding:
 * "base64"` one read's exact bytes in `data` (and `line` empty).
 */
export interface OutputEvent {
  line: string
  /** With `output_encoding: "base64"`: the bytes of one read, exactly as written. */
  data?: Buffer
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
 * `oom_killed: true` appears only with `signal: 9` (docs/protocol.md "OOM").
 */
export interface ExitEvent {
  exit_code?: number
  signal?: number
  oom_killed?: true
  /** sandproc: why it ended (docs/endings.md). */
  reason: ExitReason
  /** sandproc: with `reason: "killed"`, who ended it. */
  killed_by?: KilledBy
  /** sandproc: a `run` with `max_output_bytes` dropped output between its head and tail. */
  truncated?: true
  /** sandproc: the timeout fired and sandproc killed the tree. */
  timed_out?: true
  /** sandproc: rise of the cgroup's OOM-kill counter during the process's life (any process of its tree). Absent when OOM detection is off. */
  oom_kills?: number
  /** sandproc: with a pids limit, forks and clones the limit refused (`pids.events` `max`; they failed with EAGAIN). */
  pids_limit_hits?: number
  /** sandproc: resource figures. */
  usage?: Usage
}

/**
 * sandproc, `run` with `max_output_bytes`: output of `stream` dropped between the live
 * head and the kept tail; sent just before the tail, which comes before the exit.
 */
export interface DroppedEvent {
  dropped_lines: number
  dropped_bytes: number
  stream: StreamName
}

export type ProcessEvent = StartEvent | OutputEvent | DroppedEvent | ExitEvent

export type ProcessStatus = 'running' | 'exited' | 'signaled' | 'oom_killed'

/** ProcessInfo (docs/protocol.md "Endpoints"). */
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
  /** sandproc: why it ended, once exited; null while running. */
  reason: ExitReason | null
  /** sandproc: with `reason: "killed"`, who ended it. */
  killed_by?: KilledBy
  /** sandproc: once exited, with a pids limit: forks the limit refused (as in the exit event). */
  pids_limit_hits?: number
  /** sandproc: present, and true, only while the tree is frozen (docs/freeze.md). */
  frozen?: true
  /** sandproc: the credentials the process runs with; null until it has started. */
  user: { uid: number; gid: number } | null
  /** sandproc: the `run` timeout fired and sandproc killed the tree. */
  timed_out: boolean
  /** sandproc: resource figures once the process has exited, else null. */
  usage: Usage | null
  /** Only on a run of a managed process (docs/protocol.md "Managed processes"). */
  managed?: ManagedInfo
}

/**
 * When a run that ended by itself is followed by another (docs/protocol.md
 * "Managed processes").
 */
export type RestartPolicy = 'never' | 'on_failure' | 'always'

/**
 * `restart` of a managed start request (docs/protocol.md "Managed processes"); omitted
 * fields take their defaults.
 */
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

/**
 * `health_check` of a managed start request (docs/protocol.md "Managed processes").
 * Probes go to 127.0.0.1.
 */
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
 * `health_check` (docs/protocol.md "Managed processes").
 */
export type ManagedStartRequest = StartRequest & {
  /** Non-empty, at most 255 bytes, no `/`, no control characters, not all digits. */
  name?: string
  restart?: RestartSpec
  health_check?: HealthCheckSpec
} & ({ name: string } | { restart: RestartSpec } | { health_check: HealthCheckSpec })

/** Managed status (docs/protocol.md "Managed processes"). */
export type ManagedStatus = 'starting' | 'running' | 'backing_off' | 'stopped'

/** Health status (docs/protocol.md "Managed processes"). */
export type HealthStatus = 'disabled' | 'starting' | 'healthy' | 'unhealthy'

/** How the latest run ended. */
export interface LastExit {
  exit_code: number | null
  signal: number | null
  oom_killed: boolean
  ended_at: number
  /** sandproc: why that run ended. */
  reason: ExitReason
  killed_by?: KilledBy
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
