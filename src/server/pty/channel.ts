/**
 * Between one PTY session and at most one WebSocket client (docs/pty.md). Every byte read
 * from the terminal goes into the session's scrollback; a client that becomes ready gets
 * the scrollback, then live output. Output no client has been handed fills the
 * scrollback up to its size, then the terminal is no longer read (the program blocks,
 * nothing is lost); a slow client pauses the terminal past the high-water mark of unsent
 * bytes; input the program has not taken past its bound pauses the socket. A new
 * connection takes over; at the end the last byte, then `0x03`, then close 1000 `"exit:N"`.
 */
import type { WebSocket } from 'ws'
import type { PtySession } from '../../pty/index.js'
import type { ExitEvent } from '../../types.js'
import { exitCodeOf, MAX_PTY_FRAME, Op, parseFrame } from '../../pty/wire.js'
import { Scrollback } from './scrollback.js'

/** Scrollback of each session, which is also what it holds while nobody is attached and ready. */
export const DEFAULT_PTY_HOLD_BYTES = 1024 * 1024
/** Terminal input a session queues for a program that does not read it; past it the socket is paused. */
export const PTY_INPUT_BYTES = 1024 * 1024

export interface ChannelOptions {
  holdBytes: number
  highWaterMark: number
}

export class PtyChannel {
  readonly #session: PtySession
  readonly #opts: ChannelOptions
  readonly #track: (ws: WebSocket) => void
  readonly #log: Scrollback
  #ws: WebSocket | null = null
  #ready = false
  #unsent = 0
  #paused = false
  #exit: ExitEvent | null = null
  #terminated = false
  #released = false
  #killed = false

  /** `track` sees every socket attached, so that shutdown can cut it whatever its state. */
  constructor(session: PtySession, opts: ChannelOptions, track: (ws: WebSocket) => void) {
    this.#session = session
    this.#opts = opts
    this.#track = track
    this.#log = new Scrollback(opts.holdBytes)
    // Ended already when handed over by a live upgrade.
    this.#exit = session.exitEvent
    session.on('data', this.#onData)
    session.on('drain', () => this.#ws?.resume())
    // The tree is being killed: what it wrote can no longer be waited for by anyone.
    session.on('kill', () => {
      this.#killed = true
      this.#update()
    })
    session.on('exit', (ev: ExitEvent) => {
      this.#exit = ev
      if (this.#ws !== null && this.#ready && !this.#terminated) this.#sendExit(this.#ws)
    })
  }

  /** True while the session is paused because its output has nowhere to go. */
  get paused(): boolean {
    return this.#paused
  }

  /** True while the client's socket is paused because the program has not taken its input. */
  get inputPaused(): boolean {
    return this.#ws?.isPaused === true
  }

  /** Bytes handed to the socket and not yet written out. */
  get unsent(): number {
    return this.#unsent
  }

  /** Output no client has been handed yet (held for the next one). */
  get heldBytes(): number {
    return this.#log.unseen
  }

  /** Output kept for a client that (re)attaches. */
  get scrollbackBytes(): number {
    return this.#log.bytes
  }

  /** A DELETE is under way. */
  get terminated(): boolean {
    return this.#terminated
  }

  /** What a live upgrade hands over (docs/upgrade.md): the scrollback, and how many of its last bytes no client was handed. */
  handover(): { scrollback: Buffer; unseen: number } {
    return { scrollback: Buffer.concat([...this.#log.payloads(Number.MAX_SAFE_INTEGER)]), unseen: this.#log.unseen }
  }

  /** The scrollback the old program handed over, before any client attaches. */
  restore(scrollback: Buffer, unseen: number): void {
    this.#log.push(scrollback, true)
    this.#log.markUnseen(unseen)
    this.#update()
  }

  /** A new client: the previous one, if any, is closed with 1008 "replaced". */
  attach(ws: WebSocket): void {
    this.#track(ws)
    const old = this.#ws
    if (old !== null) {
      this.#detach()
      old.resume()
      old.close(1008, 'replaced')
    }
    this.#ws = ws
    this.#ready = false
    this.#unsent = 0
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(ws, data, isBinary))
    ws.on('close', () => {
      if (this.#ws !== ws) return
      this.#detach()
      this.#update()
    })
    ws.on('error', () => undefined)
    if (this.#terminated) ws.close(1000, 'session terminated')
    this.#update()
  }

  /** DELETE: stop holding (the program must be able to die) and say so to the client. */
  terminate(): void {
    this.#terminated = true
    this.#log.clear()
    this.#update()
  }

  /**
   * Server shutdown: no client will come, so output nobody was handed no longer blocks
   * the program (the scrollback keeps its last bytes); a ready client still bounds it
   * until the tree is killed, and gets the end and its exit frame.
   */
  release(): void {
    this.#released = true
    this.#log.markSeen()
    this.#update()
  }

  /** An ended session past the registry's budget: a client that comes now gets only the exit. */
  dropScrollback(): void {
    this.#log.clear()
  }

  /** After DELETE has seen the session reaped. */
  closeTerminated(): void {
    const ws = this.#ws
    this.#ws = null
    ws?.resume()
    ws?.close(1000, 'session terminated')
  }

  // The client is gone or replaced: what it was handed and never took is kept for the next.
  #detach(): void {
    this.#log.markUnseen(this.#unsent)
    this.#ws = null
    this.#ready = false
    this.#unsent = 0
  }

  #onData = (chunk: Buffer): void => {
    if (this.#terminated) return
    const ws = this.#ws
    // Once the tree is killed a stalled client gets no more than the high-water mark.
    const send = ws !== null && this.#ready && (!this.#killed || this.#unsent <= this.#opts.highWaterMark)
    this.#log.push(chunk, send || this.#released || this.#killed)
    if (send) this.#send(ws, chunk)
    else this.#update()
  }

  #onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (ws !== this.#ws) return
    const frame = parseFrame(data)
    if (frame === null || !isBinary) return ws.close(1008, 'invalid frame')
    switch (frame.op) {
      case Op.Data:
        // Past the bound, frames stay in the socket: the client's sends wait, not our memory.
        if (this.#session.write(frame.payload) && this.#session.writableLength > PTY_INPUT_BYTES) ws.pause()
        return
      case Op.Resize:
        // A session that has ended has no terminal left to size; not the client's fault.
        if (this.#session.running) {
          try {
            this.#session.resize(frame.cols, frame.rows)
          } catch {
            // Reaped a moment ago.
          }
        }
        return
      case Op.Ready:
        if (this.#ready || this.#terminated) return
        this.#ready = true
        for (const payload of this.#log.payloads(MAX_PTY_FRAME - 1)) this.#send(ws, payload)
        this.#log.markSeen()
        if (this.#exit !== null) this.#sendExit(ws)
        this.#update()
    }
  }

  #send(ws: WebSocket, payload: Buffer): void {
    const frame = Buffer.allocUnsafe(payload.length + 1)
    frame[0] = Op.Data
    payload.copy(frame, 1)
    this.#unsent += frame.length
    // The callback runs once the bytes are out of ws's queue and in the socket; with an
    // error when the socket went first (they stay unsent: see #detach).
    ws.send(frame, { binary: true }, (err) => {
      if (ws !== this.#ws || err) return
      this.#unsent -= frame.length
      if (this.#paused && this.#unsent <= this.#opts.highWaterMark) this.#update()
    })
    if (this.#unsent > this.#opts.highWaterMark) this.#update()
  }

  #sendExit(ws: WebSocket): void {
    const code = exitCodeOf(this.#exit as ExitEvent)
    const frame = Buffer.alloc(5)
    frame[0] = Op.Exit
    frame.writeInt32BE(code, 1)
    ws.send(frame, { binary: true })
    // Input frames still in the socket are read and dropped, so the close handshake can end.
    ws.resume()
    ws.close(1000, `exit:${code}`)
    this.#ws = null
  }

  // One pause of the session, held while its output has nowhere to go.
  #update(): void {
    const live = this.#ws !== null && this.#ready
    const wait = live
      ? this.#unsent > this.#opts.highWaterMark
      : !this.#released && this.#log.unseen >= this.#opts.holdBytes
    const stop = wait && !this.#terminated && !this.#killed
    if (stop === this.#paused) return
    this.#paused = stop
    if (stop) this.#session.pause()
    else this.#session.resume()
  }
}
