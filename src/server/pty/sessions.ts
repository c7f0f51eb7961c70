/**
 * The server's PTY sessions (docs/protocol.md "PTY sessions"): ids and tokens, the
 * live-session limit, the bounded list of ended ones, and each session's channel to
 * its WebSocket client.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { WebSocket } from 'ws'

import type { PtySession } from '../../pty/index.js'
import type { ExitEvent } from '../../types.js'
import { PtyChannel, type ChannelOptions } from './channel.js'
import type { ExitReason, KilledBy } from '../../types.js'

/** Live sessions at which `POST /pty` answers 429. */
export const DEFAULT_MAX_PTY_SESSIONS = 64
/** Ended sessions kept listed (until DELETE), oldest out first. */
export const MAX_ENDED_PTY_SESSIONS = 256

/** PtySessionInfo (docs/protocol.md "PTY sessions"). */
export interface PtySessionInfo {
  session_id: string
  pid: number
  command: string
  args: string[]
  rows: number
  cols: number
  created_at: number
  ended_at: number | null
  exit_code: number | null
  signal: number | null
  oom_killed: boolean
  is_alive: boolean
  /** sandproc: why the program ended (docs/endings.md); null while it runs. */
  reason: ExitReason | null
  killed_by?: KilledBy
}

export interface PtyEntry {
  readonly id: string
  readonly session: PtySession
  readonly channel: PtyChannel
  /** SHA-256 of the token: compared in constant time, never kept in the clear. */
  readonly tokenDigest: Buffer
}

/** What monitoring (metrics, the audit log) hears of the sessions. */
export interface PtyObserver {
  /** The session's program runs. */
  created?(entry: PtyEntry): void
  /** A client connected to its WebSocket. */
  attached?(entry: PtyEntry): void
  ended?(entry: PtyEntry, ev: ExitEvent): void
}

export interface RegistryOptions extends ChannelOptions {
  maxSessions: number
  pingIntervalMs: number
}

export class PtyRegistry {
  readonly opts: RegistryOptions
  readonly #entries = new Map<string, PtyEntry>()
  readonly #observers: PtyObserver[] = []
  /**
   * Every socket until it is really closed: after the exit frame, a replacement or a
   * DELETE a session lets go of its socket while the close handshake may still wait on
   * a client that does not read.
   */
  readonly #sockets = new Set<WebSocket>()
  #closing = false
  /** A live upgrade is under way (handover.ts): a client that connects is told to reconnect. */
  restarting = false
  /** Ended sessions in the order they ended. */
  #ended: PtyEntry[] = []

  constructor(opts: RegistryOptions) {
    this.opts = opts
  }

  /** Sessions whose exit has not been delivered yet. */
  get live(): number {
    let n = 0
    for (const e of this.#entries.values()) if (e.session.running) n++
    return n
  }

  /** Registers a session; returns its entry and its token (URL-safe: the SDK puts it in the query unencoded). */
  add(session: PtySession): { entry: PtyEntry; token: string } {
    const token = randomBytes(24).toString('base64url')
    const entry = this.#register(randomBytes(12).toString('base64url'), digest(token), session)
    session.started.then(
      () => this.#notify((o) => o.created?.(entry)),
      () => undefined,
    )
    return { entry, token }
  }

  /**
   * A session the old program listed, after a live upgrade (handover.ts): the same id and
   * token. Monitoring hears only of what happens from now on (its end, if it runs).
   */
  restore(id: string, tokenDigest: Buffer, session: PtySession): PtyEntry {
    return this.#register(id, tokenDigest, session)
  }

  #register(id: string, tokenDigest: Buffer, session: PtySession): PtyEntry {
    const entry: PtyEntry = { id, session, channel: new PtyChannel(session, this.opts, this.#track), tokenDigest }
    this.#entries.set(id, entry)
    const endedBefore = session.exitEvent !== null
    session.exited.then(
      (ev) => {
        if (!endedBefore) this.#notify((o) => o.ended?.(entry, ev))
        this.#ended.push(entry)
        this.#trim()
      },
      () => undefined,
    )
    return entry
  }

  observe(observer: PtyObserver): void {
    this.#observers.push(observer)
  }

  /** The WebSocket server attached a client to `entry`. */
  attached(entry: PtyEntry): void {
    this.#notify((o) => o.attached?.(entry))
  }

  #notify(call: (o: PtyObserver) => void): void {
    for (const o of this.#observers) call(o)
  }

  get(id: string): PtyEntry | undefined {
    return this.#entries.get(id)
  }

  delete(id: string): void {
    this.#entries.delete(id)
  }

  list(): PtyEntry[] {
    return [...this.#entries.values()]
  }

  /** Constant time: both sides are hashed to the same length first. */
  tokenMatches(entry: PtyEntry, token: string): boolean {
    return timingSafeEqual(digest(token), entry.tokenDigest)
  }

  /** Server shutdown, before the supervisor closes: no session may wait for a reader. */
  releaseAll(): void {
    for (const e of this.#entries.values()) e.channel.release()
  }

  /** Server shutdown: cut every client (their sessions are ended by the supervisor), and any later one. */
  closeSockets(): void {
    this.#closing = true
    for (const ws of this.#sockets) ws.terminate()
  }

  /** Sockets not yet closed, attached or not. */
  get sockets(): number {
    return this.#sockets.size
  }

  /** Those sockets themselves. */
  get clients(): WebSocket[] {
    return [...this.#sockets]
  }

  #track = (ws: WebSocket): void => {
    if (this.#closing) return ws.terminate()
    this.#sockets.add(ws)
    ws.once('close', () => this.#sockets.delete(ws))
  }

  #trim(): void {
    let ended = 0
    for (const e of this.#entries.values()) if (!e.session.running) ended++
    for (const [id, e] of this.#entries) {
      if (ended <= MAX_ENDED_PTY_SESSIONS) break
      if (e.session.running) continue
      this.#entries.delete(id)
      ended--
    }
    this.#trimScrollback()
  }

  // Ended sessions together keep no more scrollback than the live ones may (64 MiB by
  // default), the most recently ended first; older ones keep only their exit (docs/pty.md).
  #trimScrollback(): void {
    this.#ended = this.#ended.filter((e) => this.#entries.get(e.id) === e)
    let budget = this.opts.maxSessions * this.opts.holdBytes
    for (let i = this.#ended.length - 1; i >= 0; i--) {
      budget -= this.#ended[i].channel.scrollbackBytes
      if (budget < 0) this.#ended[i].channel.dropScrollback()
    }
  }
}

export function infoOf(entry: PtyEntry): PtySessionInfo {
  const s = entry.session
  const ev = s.exitEvent
  return {
    session_id: entry.id,
    pid: s.pid,
    command: s.command,
    args: s.args,
    rows: s.rows,
    cols: s.cols,
    created_at: s.createdAt,
    ended_at: ev === null ? null : s.endedAt,
    exit_code: ev?.exit_code ?? null,
    signal: ev?.signal ?? null,
    oom_killed: ev?.oom_killed === true,
    is_alive: s.running,
    reason: ev?.reason ?? null,
    ...(ev?.killed_by === undefined ? {} : { killed_by: ev.killed_by }),
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
