/** PTY sessions in tests: collecting a library session, and a real WebSocket client of the server's. */
import fs from 'node:fs'
import { setImmediate as tick } from 'node:timers/promises'
import WebSocket from 'ws'

import type { PtySession } from '../../src/pty/index.js'
import { READY_FRAME } from '../../src/pty/wire.js'
import type { PtyEntry } from '../../src/server/pty/sessions.js'
import { ptySessionsOf } from '../../src/server/pty/socket.js'
import type { ExitEvent } from '../../src/types.js'
import type { TestServer } from './server.js'

/** The foreground process group of `pid`'s terminal (tpgid in /proc/<pid>/stat). */
export function foregroundOf(pid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[5])
}

/** Yields to the loop until `pid`'s terminal has a foreground group that satisfies `cond`. */
export async function untilForeground(pid: number, cond: (pgrp: number) => boolean): Promise<void> {
  while (!cond(foregroundOf(pid))) await tick()
}

export interface PtyCollected {
  output: Buffer
  exit: ExitEvent
  /** Bytes that arrived after the exit event (must stay 0). */
  late: number
}

/** Everything a session printed, and its exit. */
export function collectPty(session: PtySession): Promise<PtyCollected> {
  const chunks: Buffer[] = []
  let exit: ExitEvent | null = null
  let late = 0
  session.on('data', (b: Buffer) => (exit === null ? chunks.push(b) : (late += b.length)))
  return session.exited.then(async (e) => {
    exit = e
    await tick()
    return { output: Buffer.concat(chunks), exit: e, late }
  })
}

/** Resolves once the session's output so far matches `re`; returns the text. */
export function untilOutput(session: PtySession, re: RegExp): Promise<string> {
  let text = ''
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer): void => {
      text += b.toString('latin1')
      if (re.test(text)) {
        session.off('data', onData)
        resolve(text)
      }
    }
    session.on('data', onData)
    session.exited.then(() => reject(new Error(`ended before ${String(re)}: ${JSON.stringify(text)}`)), reject)
  })
}

export interface Created {
  session_id: string
  token: string
  pid: number
}

export async function createPty(ts: TestServer, body: Record<string, unknown>): Promise<Created> {
  const res = await ts.api('/pty', { method: 'POST', body })
  if (res.status !== 201) throw new Error(`POST /pty: ${res.status} ${await res.text()}`)
  return (await res.json()) as Created
}

/** The server's own entry of a session: its PtySession and its channel. */
export function entryOf(ts: TestServer, id: string): PtyEntry {
  const entry = ptySessionsOf(ts.server)?.get(id)
  if (entry === undefined) throw new Error(`no session ${id}`)
  return entry
}

/** Yields to the loop until `cond` holds. */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await tick()
}

/** A WebSocket client of one session, recording every frame. */
export class PtyClient {
  readonly ws: WebSocket
  /** Every frame received, in order. */
  readonly frames: Buffer[] = []
  readonly opened: Promise<void>
  readonly closed: Promise<{ code: number; reason: string }>
  #waiters: Array<() => void> = []

  constructor(url: string, opts: { headers?: Record<string, string>; autoPong?: boolean } = {}) {
    this.ws = new WebSocket(url, { headers: opts.headers, perMessageDeflate: false, autoPong: opts.autoPong ?? true })
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
      )
      this.ws.once('error', reject)
    })
    this.opened.catch(() => undefined)
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    )
    this.ws.on('message', (data: Buffer) => {
      this.frames.push(data)
      this.#wake()
    })
    this.ws.on('close', () => this.#wake())
  }

  static url(ts: TestServer, id: string, token?: string): string {
    const ws = ts.url.replace(/^http/, 'ws')
    return `${ws}/api/v1/pty/${id}/ws${token === undefined ? '' : `?token=${token}`}`
  }

  /** Connects with the token in the query and sends READY. */
  static async attach(ts: TestServer, s: Created, ready = true): Promise<PtyClient> {
    const c = new PtyClient(PtyClient.url(ts, s.session_id, s.token))
    await c.opened
    if (ready) c.send(READY_FRAME)
    return c
  }

  send(frame: Buffer): void {
    this.ws.send(frame, { binary: true })
  }

  /** The client's TCP socket: paused, it reads nothing, as a client that has stalled. */
  get raw(): import('node:net').Socket {
    return (this.ws as unknown as { _socket: import('node:net').Socket })._socket
  }

  /** The payload of every data frame so far. */
  data(): Buffer {
    return Buffer.concat(this.frames.filter((f) => f[0] === 0).map((f) => f.subarray(1)))
  }

  text(): string {
    return this.data().toString('latin1')
  }

  /** The exit frame's code, or null. */
  exitCode(): number | null {
    const f = this.frames.find((x) => x[0] === 3)
    return f === undefined ? null : f.readInt32BE(1)
  }

  /** Resolves once `cond` holds (checked at every frame and at close). */
  async until(cond: () => boolean): Promise<void> {
    while (!cond()) {
      if (this.ws.readyState === WebSocket.CLOSED)
        throw new Error(`closed before condition: ${JSON.stringify(this.text().slice(-300))}`)
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  untilText(re: RegExp): Promise<void> {
    return this.until(() => re.test(this.text()))
  }

  #wake(): void {
    const w = this.#waiters
    this.#waiters = []
    for (const f of w) f()
  }
}
