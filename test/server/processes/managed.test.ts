/**
 * Managed processes over HTTP (docs/protocol.md "Managed processes"): names in every
 * /processes path, restart, the `managed` object, 409 NAME_IN_USE, 400 NOT_MANAGED,
 * operations by state, output and follows across runs, and the listing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { ManagedProcess } from '../../../src/managed/process.js'
import type { ProcessInfo } from '../../../src/types.js'
import { next, untilLines, untilStatus } from '../../helpers/managed.js'
import { dataOf, json, readSse, startServer, type TestServer } from '../../helpers/server.js'

let t: TestServer
beforeAll(async () => {
  t = await startServer({}, { killGrace: 300 })
})
afterAll(async () => {
  await t.close()
})

const fast = { initial_backoff_ms: 20, max_backoff_ms: 160 }

async function create(body: Record<string, unknown>): Promise<{ info: ProcessInfo; m: ManagedProcess }> {
  const res = await t.api('/processes', { method: 'POST', body })
  const info = (await json(res)) as unknown as ProcessInfo
  expect(res.status, JSON.stringify(info)).toBe(201)
  const m = t.sup.managed(info.managed!.name!)!
  return { info, m }
}

async function expectError(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status)
  expect(await json(res)).toMatchObject({ code })
}

const MANAGED_KEYS = [
  'consecutive_health_failures',
  'health_check',
  'health_status',
  'id',
  'last_error',
  'last_exit',
  'name',
  'next_restart_at',
  'restart',
  'restart_count',
  'status',
]

describe('POST /processes with a name', () => {
  it('fills in every default, with every field of managed present', async () => {
    const { info, m } = await create({ command: 'sleep', args: ['1000'], name: 'defaults' })
    expect(info.pid).toBeGreaterThan(0)
    expect(info.status).toBe('running')
    expect(Object.keys(info.managed!).sort()).toEqual(MANAGED_KEYS)
    expect(info.managed).toEqual({
      id: 'defaults',
      name: 'defaults',
      status: 'running',
      restart_count: 0,
      restart: { policy: 'on_failure', max_restarts: null, initial_backoff_ms: 500, max_backoff_ms: 30000 },
      health_check: null,
      health_status: 'disabled',
      consecutive_health_failures: 0,
      last_exit: null,
      last_error: null,
      next_restart_at: null,
    })
    await m.stop()
  })

  it('fills in the health check defaults; an unnamed one gets an opaque id', async () => {
    const res = await t.api('/processes', {
      method: 'POST',
      body: { command: 'sleep', args: ['1000'], health_check: { type: 'tcp', port: 1, initial_delay_ms: 60_000 } },
    })
    const info = (await json(res)) as unknown as ProcessInfo
    expect(res.status).toBe(201)
    expect(info.managed).toMatchObject({
      name: null,
      health_status: 'starting',
      health_check: {
        type: 'tcp',
        port: 1,
        path: '/',
        initial_delay_ms: 60000,
        interval_ms: 1000,
        timeout_ms: 500,
        failure_threshold: 3,
      },
    })
    expect(typeof info.managed!.id).toBe('string')
    expect(await (await t.api(`/processes/${info.pid}`, { method: 'DELETE' })).status).toBe(204)
  })

  for (const [what, name] of [
    ['empty', ''],
    ['all digits', '123'],
    ['a slash', 'a/b'],
    ['a control character', 'a\u0001b'],
    ['256 bytes', 'n'.repeat(256)],
  ]) {
    it(`refuses a name that is ${what} with 400`, async () => {
      await expectError(
        await t.api('/processes', { method: 'POST', body: { command: 'true', name } }),
        400,
        'INVALID_REQUEST',
      )
    })
  }

  it('is 409 NAME_IN_USE for a live holder; a stopped one is replaced, its runs still resolve by pid', async () => {
    const first = await create({ command: 'sleep', args: ['1000'], name: 'dup' })
    await expectError(
      await t.api('/processes', { method: 'POST', body: { command: 'true', name: 'dup' } }),
      409,
      'NAME_IN_USE',
    )
    expect(await (await t.api('/processes/dup', { method: 'DELETE' })).status).toBe(204)
    const second = await create({ command: 'sleep', args: ['1000'], name: 'dup' })
    expect(second.m).not.toBe(first.m)
    const byName = (await json(await t.api('/processes/dup'))) as unknown as ProcessInfo
    expect(byName.pid).toBe(second.info.pid)
    const old = (await json(await t.api(`/processes/${first.info.pid}`))) as unknown as ProcessInfo
    expect(old.managed).toMatchObject({ status: 'stopped' })
    await second.m.stop()
  })

  it('is 422 for a first run that cannot start, and keeps nothing', async () => {
    await expectError(
      await t.api('/processes', { method: 'POST', body: { command: '/nonexistent/prog', name: 'never-ran' } }),
      422,
      'SPAWN_FAILED',
    )
    await expectError(await t.api('/processes/never-ran'), 404, 'NOT_FOUND')
  })
})

describe('addressing', () => {
  it('a percent-encoded name, a pid of an earlier run, and an unknown name', async () => {
    const { info, m } = await create({ command: 'sleep', args: ['1000'], name: 'my app' })
    expect(((await json(await t.api('/processes/my%20app'))) as unknown as ProcessInfo).pid).toBe(info.pid)
    const res = await t.api('/processes/my%20app/restart', { method: 'POST' })
    expect(res.status).toBe(200)
    const restarted = (await json(res)) as unknown as ProcessInfo
    expect(restarted.pid).not.toBe(info.pid)
    expect(restarted.managed).toMatchObject({ restart_count: 1, status: 'running' })
    // The earlier run: that run, with the managed object.
    const old = (await json(await t.api(`/processes/${info.pid}`))) as unknown as ProcessInfo
    expect(old).toMatchObject({
      pid: info.pid,
      status: 'signaled',
      signal: 15,
      managed: { name: 'my app', status: 'running' },
    })
    // signal to an ended run is 400; restart by its pid acts on the managed process.
    await expectError(
      await t.api(`/processes/${info.pid}/signal`, { method: 'POST', body: { signal: 15 } }),
      400,
      'PROCESS_NOT_RUNNING',
    )
    const again = (await json(
      await t.api(`/processes/${info.pid}/restart`, { method: 'POST' }),
    )) as unknown as ProcessInfo
    expect(again.managed!.restart_count).toBe(2)
    await expectError(await t.api('/processes/nobody-has-this'), 404, 'NOT_FOUND')
    await m.stop()
  })

  it('restart of a process that is not managed is 400 NOT_MANAGED', async () => {
    const res = await t.api('/processes', { method: 'POST', body: { command: 'sleep', args: ['1000'] } })
    const { pid } = (await json(res)) as unknown as ProcessInfo
    await expectError(await t.api(`/processes/${pid}/restart`, { method: 'POST' }), 400, 'NOT_MANAGED')
    await t.api(`/processes/${pid}`, { method: 'DELETE' })
  })
})

describe('operations by state', () => {
  it('SIGKILL through /signal is a failure: the policy restarts the run', async () => {
    const { info, m } = await create({ command: 'sleep', args: ['1000'], name: 'killme', restart: fast })
    const started = next(m, 'start')
    expect(await json(await t.api('/processes/killme/signal', { method: 'POST', body: { signal: 9 } }))).toEqual({
      success: true,
    })
    const [ev] = await started
    expect(ev.pid).not.toBe(info.pid)
    const now = (await json(await t.api('/processes/killme'))) as unknown as ProcessInfo
    expect(now.managed).toMatchObject({
      restart_count: 1,
      last_exit: { signal: 9, exit_code: null, oom_killed: false },
    })
    await m.stop()
  })

  it('signal, stdin and stdin/close while backing_off are 400', async () => {
    const { m } = await create({
      command: 'sh',
      args: ['-c', 'exit 1'],
      name: 'backoff',
      stdin_mode: 'pipe',
      restart: { initial_backoff_ms: 60_000 },
    })
    await untilStatus(m, 'backing_off')
    const info = (await json(await t.api('/processes/backoff'))) as unknown as ProcessInfo
    expect(info.managed).toMatchObject({ status: 'backing_off' })
    expect(info.managed!.next_restart_at).toBeGreaterThan(info.managed!.last_exit!.ended_at)
    await expectError(
      await t.api('/processes/backoff/signal', { method: 'POST', body: { signal: 15 } }),
      400,
      'PROCESS_NOT_RUNNING',
    )
    await expectError(await t.api('/processes/backoff/stdin', { method: 'POST', body: 'x' }), 400, 'STDIN_NOT_WRITABLE')
    await expectError(await t.api('/processes/backoff/stdin/close', { method: 'POST' }), 400, 'STDIN_NOT_WRITABLE')
    // DELETE while backing_off cancels the pending restart.
    expect((await t.api('/processes/backoff', { method: 'DELETE' })).status).toBe(204)
    expect(((await json(await t.api('/processes/backoff'))) as unknown as ProcessInfo).managed).toMatchObject({
      status: 'stopped',
      next_restart_at: null,
    })
    // DELETE of a stopped one: 204, nothing.
    expect((await t.api('/processes/backoff', { method: 'DELETE' })).status).toBe(204)
    // Restart of a stopped one starts a new run.
    const restarted = (await json(
      await t.api('/processes/backoff/restart', { method: 'POST' }),
    )) as unknown as ProcessInfo
    expect(restarted.status).toBe('running')
    await m.stop()
  })

  it('stdin by name reaches the current run, and each run gets a fresh pipe', async () => {
    const { m } = await create({
      command: 'sh',
      args: ['-c', 'read l; echo "got $l"; exit 1'],
      name: 'reader',
      stdin_mode: 'pipe',
      restart: fast,
    })
    const got1 = next(m, 'output')
    expect((await t.api('/processes/reader/stdin', { method: 'POST', body: 'one\n' })).status).toBe(204)
    expect((await got1)[0].line).toBe('got one')
    await next(m, 'start')
    const got2 = next(m, 'output')
    expect((await t.api('/processes/reader/stdin', { method: 'POST', body: 'two\n' })).status).toBe(204)
    expect((await got2)[0].line).toBe('got two')
    await m.stop()
  })

  it('DELETE of a running one answers once the run is reaped; nothing restarts', async () => {
    const { info, m } = await create({
      command: 'sleep',
      args: ['1000'],
      name: 'del',
      restart: { ...fast, policy: 'always' },
    })
    expect((await t.api('/processes/del', { method: 'DELETE' })).status).toBe(204)
    expect(m.current.running).toBe(false)
    const after = (await json(await t.api('/processes/del'))) as unknown as ProcessInfo
    expect(after).toMatchObject({
      pid: info.pid,
      status: 'signaled',
      signal: 9,
      managed: { status: 'stopped', restart_count: 0 },
    })
  })
})

describe('output across runs', () => {
  it('snapshots by name read one log; a follow goes on across restarts and ends at stopped', async () => {
    const { m } = await create({
      command: 'sh',
      args: ['-c', 'echo "run $$"; exit 1'],
      name: 'logger',
      restart: { ...fast, max_restarts: 2 },
    })
    const follow = readSse(await t.api('/processes/logger/stdout/follow'))
    await untilStatus(m, 'stopped')
    const { messages } = await follow
    const lines = messages
      .filter((msg) => msg.event === 'output')
      .map((msg) => (JSON.parse(msg.data) as { line: string }).line)
    expect(lines).toHaveLength(3)
    expect(messages.at(-1)?.event).toBe('eof')
    const snap = await json(await t.api('/processes/logger/stdout'))
    expect(snap).toMatchObject({ lines, line_count: 3, pid: m.info().pid })
    // By the pid of the first run: the same log.
    const firstPid = Number(lines[0].split(' ')[1])
    expect(await json(await t.api(`/processes/${firstPid}/stdout`))).toMatchObject({ lines, pid: m.info().pid })
  })

  it('GET /processes lists a managed process once, as its current run', async () => {
    const { m } = await create({
      command: 'sh',
      args: ['-c', 'exit 1'],
      name: 'listed',
      restart: { ...fast, max_restarts: 3 },
    })
    await untilStatus(m, 'stopped')
    const { processes } = (await json(await t.api('/processes'))) as unknown as { processes: ProcessInfo[] }
    const mine = processes.filter((p) => p.managed?.name === 'listed')
    expect(mine).toHaveLength(1)
    expect(mine[0].pid).toBe(m.info().pid)
    expect(mine[0].managed!.restart_count).toBe(3)
  })

  it('a follow by name of a running process sends lines of the next run too', async () => {
    const { m } = await create({ command: 'sh', args: ['-c', 'echo "hello $$"; exec sleep 1000'], name: 'live' })
    await untilLines(m, 1)
    const res = await t.api('/processes/live/output/follow')
    const reading = readSse(res, (r) => r.messages.filter((msg) => msg.event === 'output').length === 2)
    await t.api('/processes/live/restart', { method: 'POST' })
    const { messages } = await reading
    const data = dataOf(messages) as Array<{ line: string; stream: string }>
    expect(data.map((d) => d.stream)).toEqual(['stdout', 'stdout'])
    expect(new Set(data.map((d) => d.line)).size).toBe(2)
    await m.stop()
  })
})
