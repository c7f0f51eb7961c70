import { request, type IncomingMessage } from 'node:http'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { SupervisedProcess } from '../../src/core/process.js'
import type { ProcessInfo } from '../../src/types.js'
import { dataOf, json, readSse, startServer, TOKEN, type TestServer } from '../helpers/server.js'

let t: TestServer
beforeEach(async () => {
  t = await startServer()
})
afterEach(async () => {
  await t.close()
})

const USAGE =
  '\\{"wall_ms":[0-9.]+,"user_cpu_ms":[0-9.]+,"system_cpu_ms":[0-9.]+,"memory_peak_bytes":(?:[0-9]+|null)\\}'

describe('POST /processes/run', () => {
  it('sends the seed example as bare data frames, byte for byte', async () => {
    const res = await t.api('/processes/run', { method: 'POST', body: { command: 'sh', args: ['-c', 'echo hello'] } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(res.headers.get('content-encoding')).toBeNull()
    const { raw } = await readSse(res)
    expect(raw).toMatch(
      new RegExp(
        '^data: \\{"handle":1,"pid":[0-9]+,"started_at":[0-9]+\\}\\n\\n' +
          'data: \\{"line":"hello","timestamp":[0-9]+,"stream":"stdout"\\}\\n\\n' +
          // oom_kills comes with a memory cgroup (sandproc's extension fields).
          `data: \\{"exit_code":0,"reason":"exited",(?:"oom_kills":0,)?"usage":${USAGE}\\}\\n\\n$`,
      ),
    )
  })

  it('applies env, working_dir and timeout of the seed request', async () => {
    const body = {
      command: 'sh',
      args: ['-c', 'echo "$MODE"; pwd; echo to-stderr >&2'],
      env: { MODE: 'batch' },
      working_dir: '/tmp',
      timeout: 30,
    }
    const res = await t.api('/processes/run', { method: 'POST', body })
    const events = dataOf((await readSse(res)).messages) as Array<Record<string, unknown>>
    const [start, ...rest] = events
    expect(Object.keys(start)).toEqual(['handle', 'pid', 'started_at'])
    const lines = rest.filter((e) => 'line' in e).map((e) => `${String(e.stream)}:${String(e.line)}`)
    expect(lines.sort()).toEqual(['stderr:to-stderr', 'stdout:/tmp', 'stdout:batch'])
    expect(rest.at(-1)).toMatchObject({ exit_code: 0 })
  })

  it('ignores stdio modes: stdin is closed and both streams captured', async () => {
    const body = { command: 'sh', args: ['-c', 'cat; echo out'], stdin_mode: 'pipe', stdout_mode: 'discard' }
    const events = dataOf((await readSse(await t.api('/processes/run', { method: 'POST', body }))).messages)
    expect(events.slice(1)).toMatchObject([{ line: 'out', stream: 'stdout' }, { exit_code: 0 }])
  })

  it('ends with the signal and timed_out when the timeout fires', async () => {
    const body = { command: 'sleep', args: ['30'], timeout: 0.2 }
    const events = dataOf((await readSse(await t.api('/processes/run', { method: 'POST', body }))).messages)
    expect(events.at(-1)).toMatchObject({ signal: 9, timed_out: true })
    expect(events.at(-1)).not.toHaveProperty('exit_code')
  })

  it('kills the process tree when the client disconnects', async () => {
    const body = JSON.stringify({ command: 'sh', args: ['-c', 'echo ready; sleep 60; echo never'] })
    const req = request(`${t.url}/api/v1/processes/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    })
    req.end(body)
    const res = await new Promise<IncomingMessage>((resolve) => req.on('response', resolve))
    let text = ''
    await new Promise<void>((resolve) => {
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString()
        if (text.includes('"ready"')) resolve()
      })
    })
    const pid = Number(/"pid":([0-9]+)/.exec(text)?.[1])
    const proc = t.sup.process(pid)
    expect(proc).toBeDefined()
    req.destroy()
    const exit = await proc!.exited
    expect(exit.signal).toBe(9)
    expect(proc!.info().status).toBe('signaled')
  })

  it('slows a process down for a slow reader and then delivers every line', async () => {
    // ~24 MB of output: far more than the socket buffers hold.
    const lines = 200_000
    const body = {
      command: 'sh',
      args: [
        '-c',
        `yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -n ${lines}`,
      ],
    }
    // Catch the process as the server creates it, to see its pipes being paused.
    let resolvePaused!: () => void
    const paused = new Promise<void>((resolve) => (resolvePaused = resolve))
    let proc!: SupervisedProcess
    const run = t.sup.run.bind(t.sup)
    t.sup.run = (req) => {
      proc = run(req)
      const pause = proc.pause.bind(proc)
      proc.pause = () => {
        pause()
        resolvePaused()
      }
      return proc
    }
    const res = await t.api('/processes/run', { method: 'POST', body })
    const reader = res.body!.getReader()
    await paused
    expect(proc.info().status).toBe('running')
    let count = 0
    let rest = ''
    const decoder = new TextDecoder()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      rest += decoder.decode(value, { stream: true })
      const frames = rest.split('\n\n')
      rest = frames.pop()!
      count += frames.filter((f) => f.includes('"line"')).length
      if (frames.some((f) => f.includes('"exit_code"'))) expect(count).toBe(lines)
    }
    expect(count).toBe(lines)
  })
})

describe('the process lifecycle over HTTP', () => {
  it('start, list, get, stdin, snapshots, follow with Last-Event-ID, signal and DELETE', async () => {
    const script = 'while read l; do echo "out:$l"; echo "err:$l" >&2; done; echo done'
    const started = await t.api('/processes', {
      method: 'POST',
      body: { command: 'sh', args: ['-c', script], stdin_mode: 'pipe' },
    })
    expect(started.status).toBe(201)
    const info = (await started.json()) as ProcessInfo
    expect(info).toMatchObject({
      handle: 1,
      status: 'running',
      exit_code: null,
      signal: null,
      oom_killed: false,
      stdin_writable: true,
      command: 'sh',
      args: ['-c', script],
      ended_at: null,
    })
    const { pid } = info

    const listed = await json(await t.api('/processes'))
    expect((listed.processes as ProcessInfo[]).map((p) => p.pid)).toContain(pid)
    expect(await json(await t.api(`/processes/${pid}`))).toEqual(info)

    // Follow live while writing stdin: the stream sees the lines as they come.
    const live = t.api(`/processes/${pid}/output/follow`).then((res) => readSse(res))
    const written = await t.api(`/processes/${pid}/stdin`, {
      method: 'POST',
      body: 'a\nb\n',
      headers: { 'content-type': 'application/octet-stream' },
    })
    expect(written.status).toBe(204)
    expect((await t.api(`/processes/${pid}/stdin/close`, { method: 'POST' })).status).toBe(204)
    expect((await t.api(`/processes/${pid}/stdin/close`, { method: 'POST' })).status).toBe(204)

    const followed = await live
    const outputs = followed.messages.filter((m) => m.event === 'output')
    expect(outputs.map((m) => m.id)).toEqual(['0', '1', '2', '3', '4'])
    expect(followed.messages.at(-1)).toEqual({ event: 'eof', id: undefined, data: '{}' })
    const tagged = dataOf(outputs) as Array<{ line: string; stream: string }>
    expect(tagged.map((d) => `${d.stream}:${d.line}`).sort()).toEqual(
      ['stderr:err:a', 'stderr:err:b', 'stdout:done', 'stdout:out:a', 'stdout:out:b'].sort(),
    )

    const exited = (await json(await t.api(`/processes/${pid}`))) as unknown as ProcessInfo
    expect(exited).toMatchObject({ status: 'exited', exit_code: 0, stdin_writable: false })
    expect(exited.ended_at).toBeGreaterThanOrEqual(exited.started_at)

    expect(await json(await t.api(`/processes/${pid}/stdout`))).toEqual({
      pid,
      lines: ['out:a', 'out:b', 'done'],
      line_count: 3,
      dropped: 0,
    })
    expect(await json(await t.api(`/processes/${pid}/stderr`))).toEqual({
      pid,
      lines: ['err:a', 'err:b'],
      line_count: 2,
      dropped: 0,
    })
    const output = await json(await t.api(`/processes/${pid}/output`))
    expect(output.line_count).toBe(5)
    expect((output.lines as string[]).slice().sort()).toEqual(['done', 'err:a', 'err:b', 'out:a', 'out:b'])

    // Replay of a finished process: every retained line, ids from 0, no stream tag.
    const replay = await readSse(await t.api(`/processes/${pid}/stdout/follow`))
    expect(replay.raw).toMatch(/^event: output\nid: 0\ndata: \{"line":"out:a","timestamp":[0-9]+\}\n\n/)
    expect(replay.messages.map((m) => [m.event, m.id])).toEqual([
      ['output', '0'],
      ['output', '1'],
      ['output', '2'],
      ['eof', undefined],
    ])
    const resumed = await readSse(await t.api(`/processes/${pid}/stdout/follow`, { headers: { 'last-event-id': '0' } }))
    expect(resumed.messages.map((m) => m.id)).toEqual(['1', '2', undefined])
    expect(dataOf(resumed.messages.slice(0, 2)).map((d) => (d as { line: string }).line)).toEqual(['out:b', 'done'])

    const notRunning = await t.api(`/processes/${pid}/signal`, { method: 'POST', body: { signal: 15 } })
    expect(notRunning.status).toBe(400)
    expect(await json(notRunning)).toMatchObject({ code: 'PROCESS_NOT_RUNNING' })
    const noStdin = await t.api(`/processes/${pid}/stdin`, { method: 'POST', body: 'x' })
    expect(noStdin.status).toBe(400)
    expect(await json(noStdin)).toMatchObject({ code: 'STDIN_NOT_WRITABLE' })

    // A signal to a running process, then DELETE of another.
    const sleeper = (await json(
      await t.api('/processes', { method: 'POST', body: { command: 'sleep', args: ['60'] } }),
    )) as unknown as ProcessInfo
    const signalled = await t.api(`/processes/${sleeper.pid}/signal`, { method: 'POST', body: { signal: 15 } })
    expect(signalled.status).toBe(200)
    expect(await signalled.json()).toEqual({ success: true })
    await readSse(await t.api(`/processes/${sleeper.pid}/stdout/follow`))
    expect(await json(await t.api(`/processes/${sleeper.pid}`))).toMatchObject({ status: 'signaled', signal: 15 })

    const victim = (await json(
      await t.api('/processes', { method: 'POST', body: { command: 'sh', args: ['-c', 'sleep 60 & sleep 60'] } }),
    )) as unknown as ProcessInfo
    expect((await t.api(`/processes/${victim.pid}`, { method: 'DELETE' })).status).toBe(204)
    await readSse(await t.api(`/processes/${victim.pid}/output/follow`))
    expect(await json(await t.api(`/processes/${victim.pid}`))).toMatchObject({ status: 'signaled', signal: 9 })
    expect((await t.api(`/processes/${victim.pid}`, { method: 'DELETE' })).status).toBe(204)

    const infoBody = await json(await t.api('/info'))
    expect(infoBody).toMatchObject({ running_processes: 0, total_processes: 3 })
    expect(typeof infoBody.version).toBe('string')
    expect(Number.isInteger(infoBody.uptime_secs)).toBe(true)
    expect(await json(await t.api('/health'))).toEqual({ healthy: true })
  })

  it('answers an unknown pid with 404 and the spec message', async () => {
    const res = await t.api('/processes/99999999')
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: 'Process 99999999 not found', code: 'NOT_FOUND' })
    expect((await t.api('/processes/abc/stdout')).status).toBe(404)
  })

  it('sends keep-alive comments on a quiet follow stream', async () => {
    const quiet = await startServer({ keepAliveMs: 20 })
    try {
      const res = await quiet.api('/processes', { method: 'POST', body: { command: 'sleep', args: ['60'] } })
      const { pid } = (await res.json()) as ProcessInfo
      const follow = await readSse(await quiet.api(`/processes/${pid}/output/follow`), (r) => r.comments.length > 0)
      expect(follow.raw).toBe(': keep-alive\n\n')
    } finally {
      await quiet.close()
    }
  })

  it('gives a run process empty snapshots and a follow that ends at its exit', async () => {
    const res = await t.api('/processes/run', { method: 'POST', body: { command: 'sh', args: ['-c', 'echo x'] } })
    const [start] = dataOf((await readSse(res)).messages) as Array<{ pid: number }>
    expect(await json(await t.api(`/processes/${start.pid}/stdout`))).toEqual({
      pid: start.pid,
      lines: [],
      line_count: 0,
      dropped: 0,
    })
    const follow = await readSse(await t.api(`/processes/${start.pid}/output/follow`))
    expect(follow.messages).toEqual([{ event: 'eof', id: undefined, data: '{}' }])
  })
})
