/**
 * The HTTP server's part of a live upgrade (docs/upgrade.md): what it hands over besides
 * the supervisor's processes (the `run` streams on their connections, the PTY sessions'
 * ids, tokens and scrollback), and how the new program takes the streams back before its
 * own server exists.
 */
import type { Server } from 'node:http'
import type { Supervisor } from '../supervisor.js'
import { RunStreams, type RunStreamsRecord } from './sse/run-streams.js'
import { resumeRunStreams } from './sse/resume.js'
import type { StreamOptions } from './sse/streams.js'
import { closeForRestart, ptyEntryRecords, type PtyEntryRecord } from './pty/handover.js'
import { ptySessionsOf } from './pty/socket.js'
import { connectionTaker, runStreamsOf } from './server.js'

/** The server's state in a live upgrade's `extra`. */
export interface ServerRecord {
  runs: RunStreamsRecord
  /** The PTY sessions' ids, tokens and scrollback (src/server/pty/handover.ts). */
  pty: PtyEntryRecord[]
}

/** How long the old server waits for `run` clients to take what was written to them, ms. */
const FLUSH_BOUND_MS = 1000

/**
 * The old server's half: what to await before the state is read (PTY clients told to
 * reconnect, `run` sockets flushed), the synchronous read, and what to undo when the
 * handover fails after that.
 */
export function serverHandover(server: Server): {
  quiesce: () => Promise<void>
  capture: () => { record: ServerRecord; keepFds: number[] }
  failed: () => void
} {
  const runs = runStreamsOf(server)
  const pty = ptySessionsOf(server)
  return {
    quiesce: async () => {
      // PTY clients reconnect to the new program with their tokens.
      if (pty !== undefined) await closeForRestart(pty)
      await runs.flushed(FLUSH_BOUND_MS)
    },
    capture: () => {
      const { record, keepFds } = runs.capture()
      // Read in the last synchronous step, so that the scrollback is complete.
      return { record: { runs: record, pty: pty === undefined ? [] : ptyEntryRecords(pty) }, keepFds }
    },
    failed: () => {
      if (pty !== undefined) pty.restarting = false
    },
  }
}

/**
 * The new program's half, in the same tick as `Supervisor.adopt()`: resumes the carried
 * streams, tracked in the returned registry (give it to `createServer` as `runStreams`).
 * `server` is the HTTP server once made, which takes kept-alive connections back.
 */
export function resumeServer(
  sup: Supervisor,
  record: ServerRecord | undefined,
  opts: StreamOptions,
  server: () => Server | undefined,
): RunStreams {
  const streams = new RunStreams()
  if (record === undefined) return streams
  resumeRunStreams(sup, record.runs, streams, opts, () => {
    const s = server()
    return s === undefined ? null : connectionTaker(s)
  })
  return streams
}
