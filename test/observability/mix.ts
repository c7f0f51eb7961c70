/**
 * The known mix of the observability tests, driven over HTTP against any server: each
 * step says what it must add to the metrics and the audit log.
 */
import { expect } from 'vitest'

import { PtyClient } from '../helpers/pty.js'
import { dataOf, readSse, type TestServer } from '../helpers/server.js'

/** What the mix needs of a server: its URL and requests with the token. */
export type MixServer = Pick<TestServer, 'url' | 'api'>

/** A client's W3C traceparent for the first run. */
export const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
export const PARENT_SPAN_ID = '00f067aa0ba902b7'
export const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`
/** An environment value that must never reach the audit log. */
export const SECRET = 'env-value-that-must-not-leak'

/** Stops by itself at 1 GiB with its own exit code, so a limit that failed cannot hurt the machine. */
const HOG = 'b = []\nfor i in range(1024):\n    b.append(bytearray(1 << 20))\nraise SystemExit(42)'

async function run(
  ts: MixServer,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const res = await ts.api('/processes/run', { method: 'POST', body, headers })
  expect(res.status).toBe(200)
  const events = dataOf((await readSse(res)).messages) as Array<Record<string, unknown>>
  return events[events.length - 1]
}

/**
 * First half: a run with output (exit 3, with a traceparent and an env value), a spawn
 * failure, an OOM kill, a timeout. 3 starts, 1 failure; exits: exited, oom_killed, timed_out.
 */
export async function firstHalf(ts: MixServer): Promise<void> {
  const ok = await run(
    ts,
    { command: 'sh', args: ['-c', 'echo hello; echo err >&2; exit 3'], env: { SECRET_KEY: SECRET } },
    { traceparent: TRACEPARENT },
  )
  expect(ok).toMatchObject({ exit_code: 3 })
  const failed = await ts.api('/processes/run', { method: 'POST', body: { command: '/nonexistent/program' } })
  expect(failed.status).toBe(422)
  expect(await failed.json()).toMatchObject({ code: 'SPAWN_FAILED', errno: 'ENOENT' })
  expect(await run(ts, { command: 'python3', args: ['-c', HOG], memory_limit: '64M' })).toMatchObject({
    signal: 9,
    oom_killed: true,
  })
  expect(await run(ts, { command: 'sleep', args: ['30'], timeout: 0.2 })).toMatchObject({ signal: 9, timed_out: true })
}

/**
 * Second half: a `cat` ended by a stdin close (exited), a `sleep` ended by a signal
 * (signaled), a PTY session attached and deleted, a managed process restarted once by
 * request and then deleted (two runs, both ended by sandproc). 4 starts, 1 restart.
 */
export async function secondHalf(ts: MixServer): Promise<void> {
  const cat = await started(ts, { command: 'cat', stdin_mode: 'pipe' })
  expect((await ts.api(`/processes/${cat}/stdin/close`, { method: 'POST' })).status).toBe(204)
  await exitOf(ts, cat)

  const sleeper = await started(ts, { command: 'sleep', args: ['30'] })
  expect((await ts.api(`/processes/${sleeper}/signal`, { method: 'POST', body: { signal: 15 } })).status).toBe(200)
  expect(await exitOf(ts, sleeper)).toMatchObject({ signal: 15 })

  const pty = await ts.api('/pty', { method: 'POST', body: { command: 'cat' } })
  expect(pty.status).toBe(201)
  const session = (await pty.json()) as { session_id: string; token: string; pid: number }
  const client = await PtyClient.attach(ts as TestServer, session)
  expect((await ts.api(`/pty/${session.session_id}`, { method: 'DELETE' })).status).toBe(204)
  await client.closed

  const svc = await ts.api('/processes', { method: 'POST', body: { command: 'sleep', args: ['30'], name: 'mix-svc' } })
  expect(svc.status).toBe(201)
  expect((await ts.api('/processes/mix-svc/restart', { method: 'POST' })).status).toBe(200)
  expect((await ts.api('/processes/mix-svc', { method: 'DELETE' })).status).toBe(204)
}

async function started(ts: MixServer, body: Record<string, unknown>): Promise<number> {
  const res = await ts.api('/processes', { method: 'POST', body })
  expect(res.status).toBe(201)
  return ((await res.json()) as { pid: number }).pid
}

/** The final event of a started process, from its follow stream's end and its ProcessInfo. */
async function exitOf(ts: MixServer, pid: number): Promise<Record<string, unknown>> {
  await readSse(await ts.api(`/processes/${pid}/output/follow`))
  const info = (await (await ts.api(`/processes/${pid}`)).json()) as Record<string, unknown>
  return { exit_code: info.exit_code, signal: info.signal }
}
