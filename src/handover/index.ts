/**
 * Live upgrade (docs/upgrade.md): `sup.handover()` re-executes the program from disk in
 * the same pid and hands the running processes to it; `Supervisor.adopt()` takes them
 * on the other side. This module is the operation; the halves are capture.ts and adopt.ts.
 */
import { coded } from '../errors.js'
import type { ProcessTable } from '../core/table.js'
import type { PtySession } from '../pty/index.js'
import { capture, settle } from './capture.js'
import { checkLoads, execWithState } from './exec.js'
import type { OldWatchdogs } from './guards.js'

export { takeHandoverState, HANDOVER_ENV, type HandoverState } from './state.js'
export { adoptAll, type LogBounds } from './adopt.js'
export { OldWatchdogs } from './guards.js'
export type { PtyRecord } from './pty-state.js'

/** Options of `sup.handover()`. */
export interface HandoverOptions {
  /**
   * The program to execute, `argv[0]` its path. Default: this Node with its options,
   * script and arguments (`process.execPath`, `process.execArgv`, `process.argv`).
   */
  argv?: string[]
  /** Its environment. Default `process.env`. */
  env?: NodeJS.ProcessEnv
  /** More fds to keep open across the execve (a listening socket). */
  keepFds?: number[]
  /**
   * JSON-serializable data for the new program (`Supervisor.adopt()` returns it), or a
   * function that returns it, called in the synchronous step right before the execve
   * (for data that changes until then, such as a server's PTY scrollback).
   */
  extra?: unknown
  /**
   * A command that loads the new program and exits 0, run first: a program that does not
   * load is never executed. Default: `node --check` of the script. `false`: no check.
   */
  check?: string[] | false
  /**
   * Called once the check passed, before the swap; a promise it returns is waited for
   * (a server tells its PTY clients to reconnect here). Not called when the check fails.
   */
  onChecked?: () => void | Promise<void>
  /** How long to wait for a process in between (a spawn, an exit draining its pipes), ms. Default 5000. */
  settleMs?: number
}

/** Why a supervisor cannot hand over now; null when it can. */
export type Refusal = { message: string; code: string } | null

/**
 * Hands the table's processes to a new program. Resolves never: on success the program
 * is replaced; rejects, with everything as it was, when it cannot complete.
 */
export async function handOver(
  table: ProcessTable,
  old: OldWatchdogs | undefined,
  refusal: () => Refusal,
  opts: HandoverOptions,
  ptys: () => PtySession[] = () => [],
): Promise<never> {
  const argv = opts.argv ?? [process.execPath, ...process.execArgv, ...process.argv.slice(1)]
  if (argv.length === 0) throw new TypeError('argv must name the program to execute')
  const why = refusal()
  if (why !== null) throw coded(why.message, why.code)
  const check = opts.check ?? [process.execPath, '--check', argv[argv.length > 1 ? 1 : 0]]
  if (check !== false) await checkLoads(check)
  await opts.onChecked?.()
  await settle(table, opts.settleMs ?? 5000, ptys)
  const again = refusal()
  if (again !== null) throw coded(again.message, again.code)
  const { state, keepFds } = capture(table, table.native, old, opts.extra ?? null, ptys())
  return execWithState(table.native, argv, opts.env ?? process.env, [...keepFds, ...(opts.keepFds ?? [])], state)
}
