/**
 * Health probes against real loopback servers: pass, fail on a status, on a refused
 * connect, and on a server that accepts and never answers (aborted at the timeout); no
 * socket left open after 100 of them.
 */
import { createServer as httpServer, type Server as HttpServer } from 'node:http'
import { createServer as netServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { probe } from '../../src/managed/probe.js'
import { openFds } from '../helpers/system.js'

let http: HttpServer
let silent: Server
/** Sockets the silent server holds, and how many of them the client has closed. */
const held = new Set<Socket>()
let silentClosed = 0
let httpPort = 0
let silentPort = 0
let refusedPort = 0

function port(s: { address(): AddressInfo | string | null }): number {
  return (s.address() as AddressInfo).port
}

function listen(s: HttpServer | Server): Promise<void> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))
}

beforeAll(async () => {
  http = httpServer((req, res) => {
    const status = Number(req.url?.slice(1)) || 200
    res.writeHead(status).end('x')
  })
  silent = netServer((socket) => {
    held.add(socket)
    // Read (and drop) what comes, so that the client's close is seen.
    socket.resume()
    socket.on('close', () => {
      held.delete(socket)
      silentClosed++
    })
  })
  await Promise.all([listen(http), listen(silent)])
  httpPort = port(http)
  silentPort = port(silent)
  // A port nobody listens on: bound, then closed.
  const gone = netServer()
  await listen(gone)
  refusedPort = port(gone)
  await new Promise((resolve) => gone.close(resolve))
})

afterAll(async () => {
  for (const s of held) s.destroy()
  await Promise.all([new Promise((r) => http.close(r)), new Promise((r) => silent.close(r))])
})

const http_ = (p: number, path = '/', timeout_ms = 1000) => ({ type: 'http' as const, port: p, path, timeout_ms })
const tcp = (p: number, timeout_ms = 1000) => ({ type: 'tcp' as const, port: p, path: '/', timeout_ms })

describe('http', () => {
  it('passes on 200, 204, 301 and 399', async () => {
    for (const s of ['/200', '/204', '/301', '/399'])
      expect(await probe(http_(httpPort, s))).toEqual({ ok: true, reason: null })
  })

  it('fails on 400, 404 and 500 with the status as reason', async () => {
    for (const s of [400, 404, 500]) {
      expect(await probe(http_(httpPort, `/${s}`))).toEqual({ ok: false, reason: `status ${s}` })
    }
  })

  it('fails on a refused connect', async () => {
    expect(await probe(http_(refusedPort))).toEqual({ ok: false, reason: 'ECONNREFUSED' })
  })

  it('fails on a server that accepts and never answers, aborted at the timeout', async () => {
    const before = silentClosed
    expect(await probe(http_(silentPort, '/', 50))).toEqual({ ok: false, reason: 'timeout' })
    // The connection was really aborted: the server sees it close.
    while (silentClosed === before) await new Promise((r) => setImmediate(r))
    expect(silentClosed).toBe(before + 1)
  })
})

describe('tcp', () => {
  it('passes on a connect', async () => {
    expect(await probe(tcp(silentPort))).toEqual({ ok: true, reason: null })
  })

  it('fails on a refused connect', async () => {
    expect(await probe(tcp(refusedPort))).toEqual({ ok: false, reason: 'ECONNREFUSED' })
  })
})

describe('an abort signal', () => {
  it('ends a probe in flight as a failure and closes its socket', async () => {
    const ac = new AbortController()
    const pending = probe(http_(silentPort, '/', 60_000), ac.signal)
    while (held.size === 0) await new Promise((r) => setImmediate(r))
    ac.abort()
    expect(await pending).toEqual({ ok: false, reason: 'aborted' })
  })
})

/** Resolves once neither server holds a connection (their ends close after the client's). */
async function quiet(): Promise<void> {
  const connections = (): Promise<number> => new Promise((r) => http.getConnections((_e, n) => r(n)))
  while (held.size > 0 || (await connections()) > 0) await new Promise((r) => setImmediate(r))
}

describe('fds', () => {
  it('100 probes of every kind leave the fd count where it was', async () => {
    await quiet()
    const before = openFds().length
    const kinds = [
      http_(httpPort),
      http_(httpPort, '/500'),
      http_(refusedPort),
      http_(silentPort, '/', 5),
      tcp(silentPort),
      tcp(refusedPort),
    ]
    for (let i = 0; i < 100; i++) await probe(kinds[i % kinds.length])
    await quiet()
    expect(openFds().length).toBe(before)
  })
})
