/**
 * The line `sandproc run` prints on stderr when a process did not simply exit
 * (docs/endings.md): OOM kills, timeouts, signals and kills said plainly, since an exit
 * status of 137 alone means any of them.
 */
import { constants as os } from 'node:os'

import { parseMemoryLimit } from '../cgroup/index.js'
import type { DroppedEvent, ExitEvent, RunRequest } from '../types.js'

const MIB = 1024 * 1024

/** The line for `exit` (with its newline), or null for a process that exited by itself. */
export function endingLine(exit: ExitEvent, req: RunRequest): string | null {
  const text = describe(exit, req)
  return text === null ? null : `sandproc: ${text}\n`
}

/** The line for a `--max-output` gap. */
export function droppedLine(ev: DroppedEvent): string {
  return `sandproc: ${ev.dropped_lines} lines (${ev.dropped_bytes} bytes) of ${ev.stream} dropped here (--max-output)\n`
}

function describe(exit: ExitEvent, req: RunRequest): string | null {
  switch (exit.reason) {
    case 'exited':
      return null
    case 'oom_killed': {
      const limit = req.memory_limit === undefined ? null : parseMemoryLimit(req.memory_limit)
      const peak = exit.usage?.memory_peak_bytes ?? null
      const parts = [
        limit === null ? null : `memory limit ${mib(limit)}`,
        peak === null ? null : `peak ${mib(peak)}`,
      ].filter((p) => p !== null)
      return `OOM-killed${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`
    }
    case 'timed_out':
      return `timed out after ${req.timeout} s (${escalation(exit, req)})`
    case 'idle_timeout':
      return `no output for ${req.idle_timeout} s (${escalation(exit, req)})`
    case 'signaled':
      return `killed by ${signalName(exit.signal)}`
    case 'killed':
      return `${exit.signal !== undefined ? `killed by ${signalName(exit.signal)}` : `exited with ${exit.exit_code}`}, sent by sandproc (${exit.killed_by ?? 'api'})`
  }
}

/** What a firing timeout did: SIGKILL at once, or SIGTERM and what followed in the grace. */
function escalation(exit: ExitEvent, req: RunRequest): string {
  const grace = req.timeout_grace ?? 0
  if (grace === 0) return 'SIGKILL'
  if (exit.signal === os.signals.SIGKILL) return `SIGTERM, then SIGKILL after ${grace} s`
  const how = exit.signal !== undefined ? `died of ${signalName(exit.signal)}` : `exited with ${exit.exit_code}`
  return `SIGTERM; it ${how} within the ${grace} s grace`
}

function signalName(sig: number | undefined): string {
  if (sig === undefined) return 'no signal'
  const name = Object.entries(os.signals).find(([, n]) => n === sig)?.[0]
  return name === undefined ? `signal ${sig}` : `${name} (${sig})`
}

function mib(bytes: number): string {
  return `${Math.round((bytes / MIB) * 10) / 10} MiB`
}
