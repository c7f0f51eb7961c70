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
  /** sandproc: the credentials the process runs with; null until it has started. */
  user: { uid: number; gid: number } | null
  /** sandproc: the `run` timeout fired and sandproc killed the tree. */
  timed_out: boolean
  /** sandproc: resource figures once the process has exited, else null. */
  usage: Usage | null
}
