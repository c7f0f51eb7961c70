/**
 * The new program's half of carrying `run` streams across a live upgrade
 * (docs/upgrade.md): each inherited connection gets the frames the old program produced
 * and did not send, then the adopted process's later frames, down to its exit frame.
 * Call it in the same tick as the adoption, so that no event of those processes is missed.
 */
import { Socket } from 'node:net'
import type { SupervisedProcess } from '../../core/process.js'
import { binding } from '../../native.js'
import type { Supervisor } from '../../supervisor.js'
import { CarriedResponse } from './carried-response.js'
import { pump } from './routes.js'
import type { RunStreams, RunStreamsRecord } from './run-streams.js'
import { runEventStream, type StreamOptions } from './streams.js'

/** Where a carried connection goes once its body is complete: the HTTP server, or null before it exists. */
export type ConnectionTaker = () => ((socket: Socket) => boolean) | null

/**
 * Resumes every carried stream of `record` on `sup`'s adopted processes, and kills the
 * processes whose stream was cut (their client is gone, as a client that disconnects).
 * The streams are tracked in `streams`, for the next upgrade.
 */
export function resumeRunStreams(
  sup: Supervisor,
  record: RunStreamsRecord,
  streams: RunStreams,
  opts: StreamOptions,
  taker: ConnectionTaker,
): void {
  const byHandle = new Map<number, SupervisedProcess>(sup.processes().map((p) => [p.handle, p]))
  for (const handle of record.cut) byHandle.get(handle)?.killTree('client_gone')
  for (const c of record.carried) {
    // The execve cleared it; the processes started from now on must not inherit the connection.
    binding.setCloexec(c.fd)
    const socket = new Socket({ fd: c.fd, readable: true, writable: true })
    const res = new CarriedResponse(socket, { chunked: c.chunked, keepAlive: c.keepAlive }, (s) => {
      const take = taker()
      return take !== null && take(s)
    })
    const unsent = Buffer.from(c.unsent, 'base64')
    if (unsent.length > 0) res.write(unsent)
    const proc = byHandle.get(c.handle)
    if (c.ended) {
      res.end()
      continue
    }
    if (proc === undefined) {
      // Not handed over, so its exit frame can never come: end the body abruptly, honestly.
      res.destroy()
      continue
    }
    const stream = runEventStream(proc, opts)
    const untrack = streams.add(proc, stream, res)
    const onClose = (): void => {
      if (!res.writableFinished) void stream.return()
    }
    res.on('close', onClose)
    void pump(stream, res).finally(() => {
      res.off('close', onClose)
      untrack()
    })
  }
}
