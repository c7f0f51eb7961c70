import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { rmTemp, tempDir } from '../helpers/system.js'
import { TOKEN } from '../helpers/server.js'
import { firstHalf, secondHalf, SECRET, TRACE_ID } from './mix.js'
import { serveChild } from './serve.js'

let dir: string

beforeAll(() => {
  dir = tempDir()
})

afterAll(() => {
  rmTemp(dir)
})

type Line = Record<string, unknown> & { event: string; time: string }

function lines(file: string): Line[] {
  const text = fs.readFileSync(file, 'utf8')
  expect(text.endsWith('\n')).toBe(true)
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as Line)
}

/** Resolves once `file` exists (the server reopened it), woken by the directory's changes. */
async function created(file: string): Promise<void> {
  const watcher = fs.watch(path.dirname(file))
  try {
    const seen = new Promise<void>((resolve) => watcher.on('change', () => fs.existsSync(file) && resolve()))
    if (!fs.existsSync(file)) await seen
  } finally {
    watcher.close()
  }
}

function count(all: Line[], event: string): number {
  return all.filter((l) => l.event === event).length
}

describe('the audit log of sandproc serve', () => {
  it('has one valid JSON line per event of the mix, never the token or an env value, across a rename and SIGHUP', async () => {
    const file = path.join(dir, 'audit.log')
    const serve = await serveChild(['--audit-log', file])
    let status: number | null
    try {
      await firstHalf(serve)
      // What logrotate does: rename, then SIGHUP; the server must write to a new file.
      fs.renameSync(file, `${file}.1`)
      serve.child.kill('SIGHUP')
      await created(file)
      await secondHalf(serve)
      // Still running at the SIGTERM: its exit, at the shutdown, is logged too.
      const left = await serve.api('/processes', { method: 'POST', body: { command: 'sleep', args: ['30'] } })
      expect(left.status).toBe(201)
    } finally {
      status = await serve.stop()
    }
    expect(status).toBe(0)

    const before = lines(`${file}.1`)
    const after = lines(file)
    expect(before.map((l) => l.event).sort()).toEqual([
      'exit',
      'exit',
      'exit',
      'spawn_failed',
      'start',
      'start',
      'start',
    ])
    const all = [...before, ...after]
    expect(count(all, 'start')).toBe(8)
    expect(count(all, 'exit')).toBe(8)
    expect(count(all, 'spawn_failed')).toBe(1)
    expect(count(all, 'signal')).toBe(1)
    expect(count(all, 'stdin_close')).toBe(1)
    expect(count(all, 'kill')).toBe(1)
    expect(count(all, 'restart')).toBe(1)
    expect(count(all, 'pty_create')).toBe(1)
    expect(count(all, 'pty_attach')).toBe(1)
    expect(count(all, 'pty_end')).toBe(1)
    expect(all).toHaveLength(24)
    for (const l of all) expect(Number.isNaN(Date.parse(l.time))).toBe(false)

    const text = fs.readFileSync(`${file}.1`, 'utf8') + fs.readFileSync(file, 'utf8')
    expect(text).not.toContain(TOKEN)
    expect(text).not.toContain(SECRET)

    const first = before.find((l) => l.event === 'start')!
    expect(first).toMatchObject({
      command: 'sh',
      args: ['-c', 'echo hello; echo err >&2; exit 3'],
      working_dir: process.cwd(),
      user: { uid: process.getuid!(), gid: process.getgid!() },
      env_keys: ['SECRET_KEY'],
      trace_id: TRACE_ID,
      limits: { timeout_s: null, memory_bytes: null, pids: null, cpus: null },
    })
    const pid = first.pid as number
    expect(before.find((l) => l.event === 'exit' && l.pid === pid)).toMatchObject({
      reason: 'exited',
      exit_code: 3,
      signal: null,
      usage: { wall_ms: expect.any(Number), user_cpu_ms: expect.any(Number) },
    })
    expect(before.find((l) => l.event === 'exit' && l.reason === 'oom_killed')).toMatchObject({
      signal: 9,
      exit_code: null,
    })
    expect(before.find((l) => l.event === 'start' && l.command === 'python3')).toMatchObject({
      limits: { memory_bytes: 64 * 1024 * 1024 },
      trace_id: null,
    })
    expect(before.find((l) => l.event === 'spawn_failed')).toMatchObject({
      command: '/nonexistent/program',
      code: 'ENOENT',
    })
    expect(after.at(-1)).toMatchObject({ event: 'exit', signal: 15 })
    expect(after.find((l) => l.event === 'signal')).toMatchObject({ signal: 15, pid: expect.any(Number) })
    expect(after.find((l) => l.event === 'restart')).toMatchObject({ name: 'mix-svc', automatic: false })
    expect(after.find((l) => l.event === 'kill')).toMatchObject({ name: 'mix-svc' })
    const pty = after.find((l) => l.event === 'pty_create')!
    expect(after.find((l) => l.event === 'pty_end')).toMatchObject({
      session_id: pty.session_id,
      pid: pty.pid,
      signal: 9,
    })
  })
})
