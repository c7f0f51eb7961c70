/**
 * Between one PTY session and at most one WebSocket client (spec §6): output is held
 * until a client is attached and ready (up to a bound, then the terminal is no longer
 * read, so the program blocks and nothing is lost), a slow client pauses the terminal
 * past the high-water mark of unsent bytes, a new connection takes over, and at the end
 * the last byte, then the `0x03` frame, then close 1000 `"exit:N"`; nothing after it.
 */
import type { WebSocket } from 'ws'
import type { PtySession } from '../pty/index.js'
import type { ExitEvent } from '../types.js'
import { exitCodeOf, Op, parseFrame } from './pty-frames.js'

/** What each session may hold while nobody is attached and ready. */
export const DEFAULT_PTY_HOLD_BYTES = 1024 * 1024
/** Largest frame, both ways; also the most output put into one frame. */
export const MAX_PTY_FRAME = 64 * 1024

export interface ChannelOptions {
  holdBytes: number
  highWaterMark: number
}

export class PtyChannel {
  readonly #session: PtySession
  readonly #opts: ChannelOptions
  #held: Buffer[] = []
  #heldBytes = 0
  #ws: WebSocket | null = null
  #ready = false
  #unsent = 0
  #paused = false
  #exit: ExitEvent | null = null
  #terminated = false
  #released = false

  constructor(session: PtySession, opts: ChannelOptions) {
    this.#session = session
    this.#opts = opts
    session.on('data', this.#onData)
    session.on('exit', (ev: ExitEvent) => {
      this.#exit = ev
      if (this.#ws !== null && this.#ready && !this.#terminated) this.#sendExit(this.#ws)
    })
  }

  /** True while the session is paused because its output has nowhere to go. */
  get paused(): boolean {
    return this.#paused
  }

  /** Bytes handed to the socket and not yet written out. */
  get unsent(): number {
    return this.#unsent
  }

  /** Bytes held for the next client. */
  get heldBytes(): number {
    return this.#heldBytes
  }

  /** A new client: the previous one, if any, is closed with 1008 "replaced". */
  attach(ws: WebSocket): void {
    const old = this.#ws
    this.#ws = ws
    this.#ready = false
    this.#unsent = 0
    if (old !== null) old.close(1008, 'replaced')
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(ws, data, isBinary))
    ws.on('close', () => {
      if (this.#ws !== ws) return
      this.#ws = null
      this.#ready = false
      this.#unsent = 0
      this.#update()
    })
    ws.on('error', () => undefined)
    if (this.#terminated) ws.close(1000, 'session terminated')
    this.#update()
  }

  /** DELETE: stop holding (the program must be able to die) and say so to the client. */
  terminate(): void {
    this.#terminated = true
    this.#held = []
    this.#heldBytes = 0
    this.#update()
  }

  /**
   * Server shutdown: the session is about to be killed and nobody may be left to read
   * it, so stop holding and stop pausing (what remains is bounded by the terminal's
   * buffer once the tree is dead); a ready client still gets the end and its exit frame.
   */
  release(): void {
    this.#released = true
    this.#held = []
    this.#heldBytes = 0
    this.#update()
  }

  /** After DELETE has seen the session reaped. */
  closeTerminated(): void {
    this.#ws?.close(1000, 'session terminated')
    this.#ws = null
  }

  /** Server shutdown: no client is left waiting. */
  closeNow(): void {
    this.#ws?.terminate()
    this.#ws = null
  }

  #onData = (chunk: Buffer): void => {
    if (this.#terminated) return
    const ws = this.#ws
    if (ws !== null && this.#ready) return this.#send(ws, chunk)
    if (this.#released) return
    this.#held.push(chunk)
    this.#heldBytes += chunk.length
    this.#update()
  }

  #onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (ws !== this.#ws) return
    const frame = parseFrame(data)
    if (frame === null || !isBinary) return ws.close(1008, 'invalid frame')
    switch (frame.op) {
      case Op.Data:
        this.#session.write(frame.payload)
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
        this.#flushHeld(ws)
        if (this.#exit !== null) this.#sendExit(ws)
        this.#update()
    }
  }

  #flushHeld(ws: WebSocket): void {
    const held = this.#held
    this.#held = []
    this.#heldBytes = 0
    // Frames of at most MAX_PTY_FRAME, whatever the sizes of the reads were.
    let batch: Buffer[] = []
    let size = 0
    for (const chunk of held) {
      for (let at = 0; at < chunk.length; ) {
        const take = Math.min(chunk.length - at, MAX_PTY_FRAME - 1 - size)
        batch.push(at === 0 && take === chunk.length ? chunk : chunk.subarray(at, at + take))
        size += take
        at += take
        if (size === MAX_PTY_FRAME - 1) {
          this.#send(ws, Buffer.concat(batch, size))
          batch = []
          size = 0
        }
      }
    }
    if (size > 0) this.#send(ws, Buffer.concat(batch, size))
  }

  #send(ws: WebSocket, payload: Buffer): void {
    const frame = Buffer.allocUnsafe(payload.length + 1)
    frame[0] = Op.Data
    payload.copy(frame, 1)
    this.#unsent += frame.length
    // The callback runs once the bytes are out of ws's queue and in the socket.
    ws.send(frame, { binary: true }, () => {
      if (ws !== this.#ws) return
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
    ws.close(1000, `exit:${code}`)
    this.#ws = null
  }

  // One pause of the session, held while its output has nowhere to go.
  #update(): void {
    const live = this.#ws !== null && this.#ready
    const stop = !this.#terminated && !this.#released && (live ? this.#unsent > this.#opts.highWaterMark : this.#heldBytes >= this.#opts.holdBytes)
    if (stop === this.#paused) return
    this.#paused = stop
    if (stop) this.#session.pause()
    else this.#session.resume()
  }
}
