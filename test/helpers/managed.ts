/** Waiting on a managed process's events (never on sleeps), for the managed tests. */
import type { ManagedEvents } from '../../src/managed/events.js'
import type { ManagedProcess } from '../../src/managed/process.js'
import type { ManagedStatus } from '../../src/types.js'

/** Resolves with the arguments of the next `event` for which `pred` holds. */
export function next<K extends keyof ManagedEvents>(
  m: ManagedProcess,
  event: K,
  pred: (...args: ManagedEvents[K]) => boolean = () => true,
): Promise<ManagedEvents[K]> {
  return new Promise((resolve) => {
    const on = (...args: ManagedEvents[K]): void => {
      if (!pred(...args)) return
      m.off(event, on as never)
      resolve(args)
    }
    m.on(event, on as never)
  })
}

/** Resolves once `m` is in `status` (at once if it already is). */
export async function untilStatus(m: ManagedProcess, status: ManagedStatus): Promise<void> {
  if (m.status === status) return
  await next(m, 'status', (c) => c.status === status)
}

/**
 * Resolves once `m`'s log holds `n` lines of output (at once if it already does): a
 * process started over HTTP may print before the test can listen for `output`.
 */
export async function untilLines(m: ManagedProcess, n: number): Promise<void> {
  while (m.log.snapshot('output').lines.length < n) await next(m, 'output')
}

/** Records every event of `m` with its name, in order. */
export function record(m: ManagedProcess): Array<{ name: keyof ManagedEvents; args: unknown[] }> {
  const out: Array<{ name: keyof ManagedEvents; args: unknown[] }> = []
  const names: Array<keyof ManagedEvents> = ['start', 'exit', 'status', 'health', 'scheduled', 'spawn-error', 'probe']
  for (const name of names) m.on(name, ((...args: unknown[]) => out.push({ name, args })) as never)
  return out
}

/**
 * Resolves after every timer due within `ms` has fired: Node runs timers in order of
 * their due time, so a timer set now for `ms` fires after any set earlier for less.
 */
export function afterTimersDue(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms + 1))
}
