/** Collecting a supervised process's events, and the shapes tests assert on. */
import type { CodedError } from '../../src/errors.js'
import type { SupervisedProcess } from '../../src/core/process.js'
import type { ExitEvent, OutputEvent, ProcessEvent, StartEvent } from '../../src/types.js'

export function isStart(ev: ProcessEvent): ev is StartEvent {
  return 'started_at' in ev
}

export function isOutput(ev: ProcessEvent): ev is OutputEvent {
  return 'line' in ev
}

export function isExit(ev: ProcessEvent): ev is ExitEvent {
  return 'reason' in ev
}

export interface Collected {
  /** Every event in the order it was emitted. */
  events: ProcessEvent[]
  start: StartEvent
  outputs: OutputEvent[]
  exit: ExitEvent
  stdout: string[]
  stderr: string[]
}

/**
 * Listens for start, output and exit (call it right after run/start: `start` is emitted
 * on the next tick) and resolves once the process has exited.
 */
export async function collect(proc: SupervisedProcess): Promise<Collected> {
  const events: ProcessEvent[] = []
  proc.on('start', (e: StartEvent) => events.push(e))
  proc.on('output', (e: OutputEvent) => events.push(e))
  proc.on('exit', (e: ExitEvent) => events.push(e))
  const exit = await proc.exited
  const start = events.find(isStart)
  if (start === undefined) throw new Error('no start event before exit')
  const outputs = events.filter(isOutput)
  return {
    events,
    start,
    outputs,
    exit,
    stdout: outputs.filter((o) => o.stream === 'stdout').map((o) => o.line),
    stderr: outputs.filter((o) => o.stream === 'stderr').map((o) => o.line),
  }
}

/** The error a process that could not start rejects `exited` with; fails if it started. */
export async function spawnError(proc: SupervisedProcess): Promise<CodedError> {
  try {
    await proc.exited
  } catch (err) {
    return err as CodedError
  }
  throw new Error(`process ${proc.pid} started, a spawn error was expected`)
}

/** Resolves with the first output line (of either stream) that satisfies `match`. */
export function lineMatching(proc: SupervisedProcess, match: (line: string) => boolean): Promise<OutputEvent> {
  return new Promise((resolve, reject) => {
    const onOutput = (e: OutputEvent): void => {
      if (!match(e.line)) return
      proc.off('output', onOutput)
      resolve(e)
    }
    proc.on('output', onOutput)
    proc.exited.then(() => reject(new Error('exited before the expected line')), reject)
  })
}

/** Only the fields that say how a process ended (drops usage and counters). */
export function ending(e: ExitEvent): Pick<ExitEvent, 'exit_code' | 'signal' | 'oom_killed' | 'timed_out'> {
  const out: Pick<ExitEvent, 'exit_code' | 'signal' | 'oom_killed' | 'timed_out'> = {}
  if (e.exit_code !== undefined) out.exit_code = e.exit_code
  if (e.signal !== undefined) out.signal = e.signal
  if (e.oom_killed !== undefined) out.oom_killed = e.oom_killed
  if (e.timed_out !== undefined) out.timed_out = e.timed_out
  return out
}
