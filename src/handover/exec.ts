/**
 * The swap itself (docs/upgrade.md): first check that the new program loads, then the
 * execve of the same program, in the same pid, with the state and the fds to keep.
 */
import { execFile } from 'node:child_process'

import { coded } from '../errors.js'
import type { NativeBinding } from '../native.js'
import { HANDOVER_ENV, type HandoverState } from './state.js'

/** How long the load check of the new program may take, ms. */
const CHECK_MS = 30_000

/**
 * Runs `check` (argv of a command that loads the new program and exits 0) and resolves
 * once it succeeded.
 * @throws Error with code `HANDOVER_CHECK_FAILED` and the command's stderr in the message.
 */
export function checkLoads(check: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(check[0], check.slice(1), { timeout: CHECK_MS }, (err, _stdout, stderr) => {
      if (err === null) return resolve()
      const why = stderr.trim().split('\n').slice(-3).join(' | ') || err.message
      reject(coded(`the new program does not load (${check.join(' ')}): ${why}`, 'HANDOVER_CHECK_FAILED'))
    })
  })
}

/**
 * execve(argv[0], argv, env + the state's memfd). Returns only when the execve failed,
 * with every fd as it was.
 * @throws Error with code `HANDOVER_EXEC_FAILED` and the system error as `cause`.
 */
export function execWithState(
  native: NativeBinding,
  argv: string[],
  env: NodeJS.ProcessEnv,
  keepFds: number[],
  state: HandoverState,
): never {
  const envp = Object.entries(env)
    .filter(([k, v]) => v !== undefined && k !== HANDOVER_ENV)
    .map(([k, v]) => `${k}=${String(v)}`)
  try {
    native.handoverExec(argv[0], argv, envp, keepFds, JSON.stringify(state))
  } catch (err) {
    throw coded(`execve of ${argv[0]} failed: ${(err as Error).message}`, 'HANDOVER_EXEC_FAILED', { cause: err })
  }
  throw coded('execve returned', 'HANDOVER_EXEC_FAILED')
}
