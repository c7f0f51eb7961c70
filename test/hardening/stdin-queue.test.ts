/**
 * Stdin writes to a process that does not read (docs/bounds.md): the bytes queued per
 * process are bounded (429 `STDIN_QUEUE_FULL` past it), and what a client that goes away
 * leaves unwritten is freed.
 */
import net from 'node:net'
import v8 from 'node:v8'
import vm from 'node:vm'
import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'

import { stdinQueuedBytes } from '../../src/server/processes/stdin.js'
import { until } from '../helpers/hardening.js'
import { requestText } from '../helpers/raw-http.js'
import { startServer, TOKEN, type TestServer } from '../helpers/server.js'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

const MiB = 1024 * 1024

async function silentReader(s: TestServer): Promise<number> {
  const res = await s.api('/processes', {
    method: 'POST',
    body: { command: 'sleep', args: ['600'], stdin_mode: 'pipe' },
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { pid: number }).pid
}

/** Stdin requests as the server sees them: `read` once `count` bodies are read, `gone` once their connections closed. */
function stdinRequests(s: TestServer, count: number): { read: Promise<void>; gone: Promise<void> } {
  let read = 0
  let closed = 0
  let onRead!: () => void
  let onGone!: () => void
  const onRequest = (req: IncomingMessage): void => {
    if (!req.url?.endsWith('/stdin')) return
    req.on('end', () => ++read === count && onRead())
    req.socket.on('close', () => ++closed === count && onGone())
  }
  s.server.on('request', onRequest)
  const gone = new Promise<void>((resolve) => (onGone = resolve)).finally(() => s.server.off('request', onRequest))
  return { read: new Promise((resolve) => (onRead = resolve)), gone }
}

function externalBytes(): number {
  gc()
  gc()
  return process.memoryUsage().arrayBuffers
}

describe('stdin queue', () => {
  it('8 clients that upload 16 MiB each to a process that never reads and go away: memory released', async () => {
    // Room for every upload: this is about what is freed, not about the bound.
    const s = await startServer({ maxStdinQueueBytes: 256 * MiB })
    try {
      const pid = await silentReader(s)
      const uploads = 8
      const seen = stdinRequests(s, uploads)
      const body = Buffer.alloc(16 * MiB, 'x')
      const before = externalBytes()
      const head = requestText('POST', `/api/v1/processes/${pid}/stdin`, {
        Authorization: `Bearer ${TOKEN}`,
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(body.length),
      })
      const { hostname, port } = new URL(s.url)
      const sockets = Array.from({ length: uploads }, () => {
        const socket = net.connect(Number(port), hostname)
        socket.on('error', () => undefined)
        socket.write(head)
        socket.write(body)
        return socket
      })
      await seen.read
      const held = externalBytes() - before
      for (const socket of sockets) socket.destroy()
      await seen.gone
      await new Promise<void>((resolve) => setImmediate(resolve))
      const after = externalBytes() - before
      if (process.env.SANDPROC_REPORT) {
        console.log(
          `stdin: external memory +${(held / MiB).toFixed(1)} MiB with the bodies read, +${(after / MiB).toFixed(1)} MiB after the clients left`,
        )
      }
      expect(after).toBeLessThan(4 * MiB)
    } finally {
      await s.close()
    }
  })

  it('a write past the per-process bound is 429 STDIN_QUEUE_FULL; the queue frees as requests end', async () => {
    const s = await startServer({ maxStdinBytes: 512 * 1024, maxStdinQueueBytes: 1 * MiB })
    try {
      const pid = await silentReader(s)
      const abort = new AbortController()
      const arrived = new Promise<void>((resolve) => s.server.once('request', () => resolve()))
      const first = s.api(`/processes/${pid}/stdin`, {
        method: 'POST',
        body: Buffer.alloc(512 * 1024, 'a'),
        signal: abort.signal,
      })
      first.catch(() => undefined)
      await arrived
      // Of the first body the pipe took 64 KiB; the rest and all of the second wait.
      const arrived2 = new Promise<void>((resolve) => s.server.once('request', () => resolve()))
      const second = s.api(`/processes/${pid}/stdin`, {
        method: 'POST',
        body: Buffer.alloc(512 * 1024, 'b'),
        signal: abort.signal,
      })
      second.catch(() => undefined)
      await arrived2
      const third = await s.api(`/processes/${pid}/stdin`, { method: 'POST', body: Buffer.alloc(128 * 1024, 'c') })
      expect(third.status).toBe(429)
      expect(await third.json()).toMatchObject({ code: 'STDIN_QUEUE_FULL' })
      abort.abort()
      // Both clients gone: their bytes are no longer counted, and a write fits again.
      const proc = s.sup.process(pid)!
      await until(() => stdinQueuedBytes(proc) === 0)
      const again = new AbortController()
      const fourth = s.api(`/processes/${pid}/stdin`, {
        method: 'POST',
        body: Buffer.alloc(1024, 'd'),
        signal: again.signal,
      })
      const answered = await Promise.race([
        fourth.then((r) => r.status),
        new Promise<string>((resolve) => setImmediate(() => resolve('waiting'))),
      ])
      expect(answered).not.toBe(429)
      again.abort()
      fourth.catch(() => undefined)
    } finally {
      await s.close()
    }
  })

  it('concurrent writes to one process arrive whole, one after the other', async () => {
    const s = await startServer()
    try {
      const res = await s.api('/processes', { method: 'POST', body: { command: 'cat', stdin_mode: 'pipe' } })
      const { pid } = (await res.json()) as { pid: number }
      const lines = 20_000
      const bodies = ['a', 'b', 'c'].map((ch) => Buffer.from(`${ch.repeat(20)}\n`.repeat(lines)))
      const answers = await Promise.all(
        bodies.map((body) => s.api(`/processes/${pid}/stdin`, { method: 'POST', body })),
      )
      expect(answers.map((r) => r.status)).toEqual([204, 204, 204])
      await s.api(`/processes/${pid}/stdin/close`, { method: 'POST' })
      await s.sup.process(pid)?.exited
      const out = (await (await s.api(`/processes/${pid}/stdout`)).json()) as { lines: string[] }
      expect(out.lines).toHaveLength(3 * lines)
      // Runs of one letter: exactly three, each a whole body.
      const runs = out.lines.filter((line, i) => i === 0 || line !== out.lines[i - 1])
      expect(runs.map((l) => l[0]).sort()).toEqual(['a', 'b', 'c'])
    } finally {
      await s.close()
    }
  })
})
