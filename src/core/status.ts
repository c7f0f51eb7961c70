/** ProcessInfo's `status` (docs/protocol.md "Endpoints") from the exit event. */
import type { ExitEvent, ProcessInfo } from '../types.js'

export function statusOf(exit: ExitEvent | null): ProcessInfo['status'] {
  if (exit === null) return 'running'
  if (exit.oom_killed === true) return 'oom_killed'
  return exit.exit_code !== undefined ? 'exited' : 'signaled'
}
