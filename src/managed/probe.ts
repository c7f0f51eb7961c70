/**
 * One health probe on loopback with Node's own `net`/`http` (docs/protocol.md
 * "Managed processes"): `http` passes on a status of 200–399, `tcp` on a connect. A
 * probe not answered within `timeoutMs` fails and is aborted. The result is given only
 * once the socket is closed, so a caller that awaited a probe holds no fd for it.
 */
import { request } from 'node:http'
import { connect, type Socket } from 'node:net'

import type { HealthSettings } from './fields.js'

/** How one probe went. `reason` says why it failed (`ECONNREFUSED`, `status 500`, `timeout`). */
export interface ProbeResult {
  ok: boolean
  reason: string | null
}

const HOST = '127.0.0.1'
const noop = (): void => {}

/** Makes one probe; never rejects. `signal` aborts it early (the run ended), as a failure. */
export function probe(
  check: Pick<HealthSettings, 'type' | 'port' | 'path' | 'timeout_ms'>,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  return check.type === 'http'
    ? httpProbe(check.port, check.path, check.timeout_ms, signal)
    : tcpProbe(check.port, check.timeout_ms, signal)
}

function tcpProbe(port: number, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const socket = connect({ host: HOST, port })
  return settle(socket, timeoutMs, signal, (finish) => {
    socket.once('connect', () => finish({ ok: true, reason: null }))
  })
}

function httpProbe(port: number, path: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  // agent: false: a connection of its own, never kept alive for the next probe.
  const req = request({ host: HOST, port, path, method: 'GET', agent: false, headers: { connection: 'close' } })
  // Destroying the socket makes the request (and a response) emit errors of their own.
  req.on('error', noop)
  return new Promise((resolve) => {
    req.once('socket', (socket: Socket) => {
      void settle(socket, timeoutMs, signal, (finish) => {
        req.once('response', (res) => {
          res.on('error', noop)
          const status = res.statusCode ?? 0
          finish(
            status >= 200 && status <= 399 ? { ok: true, reason: null } : { ok: false, reason: `status ${status}` },
          )
        })
        req.once('error', (err: NodeJS.ErrnoException) => finish({ ok: false, reason: err.code ?? err.message }))
      }).then(resolve)
    })
    req.end()
  })
}

/**
 * Runs `start` with a `finish` that records the first result and destroys the socket;
 * resolves with that result once the socket is closed. A timeout or an abort finishes it
 * as a failure.
 */
function settle(
  socket: Socket,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  start: (finish: (r: ProbeResult) => void) => void,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let result: ProbeResult | null = null
    const finish = (r: ProbeResult): void => {
      if (result !== null) return
      result = r
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      socket.destroy()
    }
    const onAbort = (): void => finish({ ok: false, reason: 'aborted' })
    const timer = setTimeout(() => finish({ ok: false, reason: 'timeout' }), timeoutMs)
    socket.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, reason: err.code ?? err.message }))
    socket.once('close', () => {
      finish({ ok: false, reason: 'closed' })
      resolve(result as ProbeResult)
    })
    if (signal?.aborted === true) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
    start(finish)
  })
}
