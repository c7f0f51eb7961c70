import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { untilStatus } from '../helpers/managed.js'
import { startServer, TOKEN, type TestServer } from '../helpers/server.js'
import { firstHalf, secondHalf } from './mix.js'
import { delta, labelValues, parseMetrics, type Samples } from './scrape.js'

let ts: TestServer

beforeAll(async () => {
  ts = await startServer()
})

afterAll(async () => {
  await ts.close()
})

async function scrape(token: string | null = TOKEN): Promise<Response> {
  return fetch(`${ts.url}/metrics`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } })
}

async function samples(): Promise<Samples> {
  const res = await scrape()
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return parseMetrics(await res.text())
}

describe('GET /metrics', () => {
  it('needs the bearer token like every path', async () => {
    const res = await scrape(null)
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ code: 'UNAUTHORIZED' })
    expect((await scrape('wrong-token')).status).toBe(401)
  })

  it('moves each counter by exactly what a known mix did', async () => {
    const before = await samples()
    await firstHalf(ts)
    await secondHalf(ts)
    const after = await samples()
    const d = delta(before, after)

    expect(d('sandproc_processes_started_total')).toBe(7)
    expect(d('sandproc_spawn_seconds_count')).toBe(7)
    expect(d('sandproc_spawn_failures_total{code="ENOENT"}')).toBe(1)
    expect(d('sandproc_oom_kills_total')).toBe(1)
    expect(d('sandproc_processes_exited_total{reason="exited"}')).toBe(2)
    expect(d('sandproc_processes_exited_total{reason="oom_killed"}')).toBe(1)
    expect(d('sandproc_processes_exited_total{reason="timed_out"}')).toBe(1)
    // The signal, the restart's SIGTERM and the DELETE (`killed` where the exit event says so).
    expect(
      d('sandproc_processes_exited_total{reason="signaled"}') + d('sandproc_processes_exited_total{reason="killed"}'),
    ).toBe(3)
    expect(d('sandproc_output_bytes_total{stream="stdout"}')).toBe('hello\n'.length)
    expect(d('sandproc_output_bytes_total{stream="stderr"}')).toBe('err\n'.length)
    expect(d('sandproc_managed_restarts_total')).toBe(1)
    expect(d('sandproc_pty_sessions_created_total')).toBe(1)
    expect(after.get('sandproc_pty_sessions')).toBe(0)
    expect(after.get('sandproc_processes_running')).toBe(0)
    expect(d('sandproc_http_requests_total{route="/api/v1/processes/run",status="200"}')).toBe(3)
    expect(d('sandproc_http_requests_total{route="/api/v1/processes/run",status="422"}')).toBe(1)
    expect(d('sandproc_http_requests_total{route="/api/v1/processes/{id}/signal",status="200"}')).toBe(1)
    expect(d('sandproc_http_requests_total{route="/api/v1/pty",status="201"}')).toBe(1)
    // The scrape before the mix, counted once its response closed.
    expect(d('sandproc_http_requests_total{route="/metrics",status="200"}')).toBe(1)
    // The server's own process metrics (prom-client's defaults).
    expect(after.get('process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect(after.has('nodejs_eventloop_lag_seconds')).toBe(true)
  })

  it('counts a running process and a live PTY session in the gauges, and its output before it exits', async () => {
    const proc = await ts.api('/processes', {
      method: 'POST',
      body: { command: 'sh', args: ['-c', 'echo ready; exec sleep 30'] },
    })
    const { pid } = (await proc.json()) as { pid: number }
    const pty = await ts.api('/pty', { method: 'POST', body: { command: 'cat' } })
    const { session_id: id } = (await pty.json()) as { session_id: string }
    const lines = await ts.api(`/processes/${pid}/stdout/follow`)
    const reader = lines.body!.getReader()
    while (!new TextDecoder().decode((await reader.read()).value).includes('ready'));
    await reader.cancel()

    const live = await samples()
    expect(live.get('sandproc_processes_running')).toBe(1)
    expect(live.get('sandproc_pty_sessions')).toBe(1)
    expect(live.get('sandproc_output_bytes_total{stream="stdout"}')).toBeGreaterThanOrEqual('hello\nready\n'.length)

    expect((await ts.api(`/processes/${pid}`, { method: 'DELETE' })).status).toBe(204)
    expect((await ts.api(`/pty/${id}`, { method: 'DELETE' })).status).toBe(204)
    await ts.sup.process(pid)!.exited
    const done = await samples()
    expect(done.get('sandproc_processes_running')).toBe(0)
    expect(done.get('sandproc_pty_sessions')).toBe(0)
  })

  it('counts automatic restarts of a managed process as well', async () => {
    const before = await samples()
    const restart = { policy: 'on_failure', max_restarts: 2, initial_backoff_ms: 1 }
    const res = await ts.api('/processes', {
      method: 'POST',
      body: { command: 'sh', args: ['-c', 'exit 1'], name: 'auto', restart },
    })
    expect(res.status).toBe(201)
    await untilStatus(ts.sup.managed('auto')!, 'stopped')
    const d = delta(before, await samples())
    expect(d('sandproc_managed_restarts_total')).toBe(2)
    expect(d('sandproc_processes_started_total')).toBe(3)
    expect(d('sandproc_processes_exited_total{reason="exited"}')).toBe(3)
  })

  it('never puts a pid, a command or a path in a label', async () => {
    await ts.api('/processes/4242/signal', { method: 'POST', body: { signal: 15 } })
    await ts.api('/no/such/path/secret-name')
    const all = await samples()
    const routes = labelValues(all, 'sandproc_http_requests_total', 'route')
    expect(routes).toContain('/api/v1/processes/{id}/signal')
    expect(routes).toContain('unmatched')
    for (const route of routes) expect(route).toMatch(/^(\/[a-z0-9]*|\/\{id\}|\/\{stream\})+$|^unmatched$|^console$/)
    const text = [...all.keys()].join('\n')
    expect(text).not.toMatch(/4242|secret-name|sleep|python3|nonexistent/)
  })
})
