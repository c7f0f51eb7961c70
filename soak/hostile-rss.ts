/**
 * Server RSS in two hostile scenarios of docs/bounds.md, for the figures there:
 *   stdin: 24 clients upload 16 MiB each to a process that never reads stdin, then go.
 *   managed: 40 managed processes write 8 MB each and stop.
 * Prints RSS (after a full GC) at the start, with the load held, and after it was let go.
 * Run: node --expose-gc --import tsx soak/hostile-rss.ts
 */
import net from 'node:net'
import type { AddressInfo } from 'node:net'

import { Supervisor } from '../src/supervisor.js'
import { createServer } from '../src/server/server.js'

const MiB = 1024 * 1024
const TOKEN = 'rss-token-0123456789'
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined)

function rssMiB(): string {
  gc()
  gc()
  return (process.memoryUsage().rss / MiB).toFixed(0)
}

async function stdinScenario(url: string, sup: Supervisor): Promise<void> {
  const proc = sup.start({ command: 'sleep', args: ['600'], stdin_mode: 'pipe' })
  await proc.started
  const before = rssMiB()
  const body = Buffer.alloc(16 * MiB, 'x')
  const { hostname, port } = new URL(url)
  const statuses: string[] = []
  const sockets = Array.from({ length: 24 }, () => {
    const socket = net.connect(Number(port), hostname)
    socket.on('error', () => undefined)
    socket.once('data', (d: Buffer) => statuses.push(d.toString('latin1').split(' ')[1]))
    socket.write(
      `POST /api/v1/processes/${proc.pid}/stdin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`,
    )
    socket.write(body)
    return socket
  })
  // Every upload sent (the writes drained into the kernel), then every client gone.
  await Promise.all(
    sockets.map(
      (s) => new Promise<void>((resolve) => (s.writableLength === 0 ? resolve() : s.once('drain', () => resolve()))),
    ),
  )
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const held = rssMiB()
  const refused = statuses.filter((s) => s === '429').length
  for (const s of sockets) s.destroy()
  await new Promise((resolve) => setTimeout(resolve, 1000))
  console.log(
    `stdin: RSS ${before} MiB before, ${held} MiB with 24 x 16 MiB uploaded (${refused} answered 429), ${rssMiB()} MiB after the clients left`,
  )
  proc.killTree()
  await proc.exited
}

async function managedScenario(sup: Supervisor): Promise<void> {
  const before = rssMiB()
  const line = '0123456789'.repeat(10)
  for (let i = 0; i < 40; i++) {
    const m = sup.start({
      command: 'sh',
      args: ['-c', `yes ${line} | head -n 80000`],
      name: `out${i}`,
      restart: { policy: 'never' },
    })
    await new Promise<void>((resolve) => m.on('status', ({ status }) => status === 'stopped' && resolve()))
  }
  const first = sup.managed('out0')
  console.log(
    `managed: RSS ${before} MiB before, ${rssMiB()} MiB after 40 x 8 MB stopped; the oldest keeps ${first === undefined ? 'nothing (forgotten)' : `${(first.log.bytes / MiB).toFixed(1)} MiB`}`,
  )
}

const sup = new Supervisor()
const server = createServer({ supervisor: sup, token: TOKEN })
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
try {
  await stdinScenario(url, sup)
  await managedScenario(sup)
} finally {
  server.closeAllConnections()
  server.close()
  await sup.close()
}
