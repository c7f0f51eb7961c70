/**
 * The server's PTY sessions across a live upgrade (docs/upgrade.md). The library hands
 * over each running session's terminal and child (src/handover/pty-state.ts); this is the
 * server's part, carried in what `serve` hands over besides: each session's id, token
 * (its digest), scrollback and, for one that has ended, its exit. The WebSocket clients
 * are told to reconnect (close 1012) before the swap and come back with their token.
 */
import { WebSocket } from 'ws'

import { PtySession } from '../../pty/index.js'
import type { ExitEvent } from '../../types.js'
import type { PtyRegistry } from './sessions.js'

/** How long the old program waits for its PTY clients' close handshakes, ms. */
export const RESTART_CLOSE_MS = 200

/** One listed session. */
export interface PtyEntryRecord {
  id: string
  /** SHA-256 of the token, base64: the token itself is never kept. */
  tokenDigest: string
  /** The scrollback, base64 (at most `ptyHoldBytes`, plus one terminal read). */
  scrollback: string
  /** Its last bytes that no client was handed: held for the next one. */
  unseen: number
  pid: number
  /** A session that had ended; absent for a running one (the library hands that over). */
  ended?: {
    command: string
    args: string[]
    rows: number
    cols: number
    createdAt: number
    pts: string
    endedAt: number
    exit: ExitEvent
  }
}

/**
 * Before the swap: every client is closed with 1012 "service restart", and one that
 * connects from now on too. Resolves once their close handshakes are done, or after
 * `waitMs`; at the execve what is left is closed by the kernel.
 */
export async function closeForRestart(registry: PtyRegistry, waitMs = RESTART_CLOSE_MS): Promise<void> {
  registry.restarting = true
  const open = registry.clients.filter((ws) => ws.readyState !== WebSocket.CLOSED)
  if (open.length === 0) return
  const closed = Promise.all(open.map((ws) => new Promise((resolve) => ws.once('close', resolve))))
  for (const ws of open) {
    // A socket paused for input must read the client's close frame.
    ws.resume()
    if (ws.readyState === WebSocket.OPEN) ws.close(1012, 'service restart')
  }
  let timer: NodeJS.Timeout | undefined
  await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))])
  clearTimeout(timer)
}

/**
 * The records of every listed session. Synchronous: called in the step right before the
 * execve, so no output is read after its scrollback was taken.
 */
export function ptyEntryRecords(registry: PtyRegistry): PtyEntryRecord[] {
  const out: PtyEntryRecord[] = []
  for (const e of registry.list()) {
    const s = e.session
    // A DELETE under way forgets it anyway; one that never started was never listed.
    if (e.channel.terminated || (!s.running && s.exitEvent === null)) continue
    const { scrollback, unseen } = e.channel.handover()
    out.push({
      id: e.id,
      tokenDigest: e.tokenDigest.toString('base64'),
      scrollback: scrollback.toString('base64'),
      unseen,
      pid: s.pid,
      ...(s.exitEvent === null
        ? {}
        : {
            ended: {
              command: s.command,
              args: s.args,
              rows: s.rows,
              cols: s.cols,
              createdAt: s.createdAt,
              pts: s.ptsPath,
              endedAt: s.endedAt ?? s.createdAt,
              exit: s.exitEvent,
            },
          }),
    })
  }
  return out
}

/**
 * In the new program, before it listens: the sessions listed again under their ids and
 * tokens, around the running sessions the library adopted (`sessions`, paused until
 * now) and the ended ones, each with its scrollback.
 */
export function restorePtyEntries(registry: PtyRegistry, records: PtyEntryRecord[], sessions: PtySession[]): void {
  const byPid = new Map(sessions.map((s) => [s.pid, s]))
  for (const r of records) {
    const session =
      r.ended === undefined
        ? byPid.get(r.pid)
        : PtySession.resume(null, {
            req: { command: r.ended.command, args: r.ended.args },
            rows: r.ended.rows,
            cols: r.ended.cols,
            createdAt: r.ended.createdAt,
            ended: { pid: r.pid, pts: r.ended.pts, endedAt: r.ended.endedAt, exit: r.ended.exit },
          })
    if (session === undefined) continue
    const entry = registry.restore(r.id, Buffer.from(r.tokenDigest, 'base64'), session)
    entry.channel.restore(Buffer.from(r.scrollback, 'base64'), r.unseen)
    // Adopted paused, so that nothing was read before the channel listened.
    if (session.running) session.resume()
  }
}
