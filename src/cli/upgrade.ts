/**
 * `sandproc serve`'s live upgrade (docs/upgrade.md): on SIGUSR2 the server hands its
 * processes, its listening socket and its token to the program on disk, executed in the
 * same pid; the new program finds them here and serves on.
 */
import type { Server } from 'node:http'
import type { Writable } from 'node:stream'

import { serverHandover, type ServerRecord } from '../server/handover.js'
import { READABLE_VERSIONS, STATE_VERSION } from '../handover/state.js'
import type { PtySession } from '../pty/index.js'
import { Supervisor, type SupervisorOptions } from '../supervisor.js'

/** What `serve` hands over besides the processes. */
export interface ServeHandover {
  token: string | undefined
  listenFd: number
  /** The HTTP server's own state (its `run` streams, its PTY sessions); absent from an older program. */
  server?: ServerRecord
}

/** The supervisor and what the old server handed over, when this program was started by an upgrade. */
export function adoptServe(
  opts: SupervisorOptions,
): { supervisor: Supervisor; extra: ServeHandover; swapMs: number; ptys: PtySession[] } | null {
  const adopted = Supervisor.adopt(opts)
  if (adopted === null) return null
  return { ...adopted, extra: adopted.extra as ServeHandover }
}

/**
 * `sandproc handover-check [VERSION]`, run by the old program before a swap: this program
 * loaded (every module and the addon), and reads a handover state of VERSION, the old
 * program's. Returns the exit status.
 */
export function handoverCheck(args: string[], stderr: Writable): number {
  if (args.length === 0 || READABLE_VERSIONS.some((v) => args[0] === String(v))) return 0
  stderr.write(
    `sandproc: this program reads handover state versions ${READABLE_VERSIONS.join(' and ')}, not ${args[0]}\n`,
  )
  return 1
}

/** The listening socket's fd, which the new program listens on (no connection is refused meanwhile). */
function listenFd(server: Server): number {
  const handle = (server as unknown as { _handle?: { fd?: number } | null })._handle
  return typeof handle?.fd === 'number' ? handle.fd : -1
}

/**
 * Handles SIGUSR2: hands over, or says why not and serves on. Returns the function that
 * stops listening for it.
 */
export function onUpgradeSignal(
  server: Server,
  supervisor: Supervisor,
  token: string | undefined,
  stderr: Writable,
): () => void {
  let busy = false
  const upgrade = (): void => {
    if (busy) return
    busy = true
    stderr.write('sandproc: SIGUSR2, handing over to the program on disk\n')
    const fd = listenFd(server)
    const served = serverHandover(server)
    // The new program's own modules and addon, loaded by a child before the swap.
    const script = process.argv[1]
    const t0 = performance.now()
    supervisor
      .handover({
        onChecked: () =>
          stderr.write(`sandproc: the new program loads (checked in ${Math.round(performance.now() - t0)} ms)\n`),
        keepFds: fd >= 0 ? [fd] : [],
        quiesce: served.quiesce,
        onCapture: () => {
          const { record, keepFds } = served.capture()
          const extra: ServeHandover = { token, listenFd: fd, server: record }
          return { extra, keepFds }
        },
        check: [process.execPath, ...process.execArgv, script, 'handover-check', String(STATE_VERSION)],
      })
      .catch((err: unknown) => {
        const e = err as Error & { code?: string }
        stderr.write(`sandproc: handover failed (${e.code ?? 'ERROR'}): ${e.message}; still serving\n`)
        served.failed()
        busy = false
      })
  }
  process.on('SIGUSR2', upgrade)
  return () => process.off('SIGUSR2', upgrade)
}
