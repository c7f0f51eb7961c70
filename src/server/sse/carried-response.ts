/**
 * The response of a `run` stream carried across a live upgrade (docs/upgrade.md): the
 * old program sent the headers; this one writes the rest of the body on the inherited
 * socket, in the framing the old one chose, and then gives a kept-alive connection to
 * the HTTP server for the client's next request.
 */
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'

const CRLF = Buffer.from('\r\n')
const LAST_CHUNK = Buffer.from('0\r\n\r\n')
/** A client's next request sent while the body still streams (pipelined): kept up to this much. */
const MAX_EARLY_BYTES = 64 * 1024

/** How the old program framed the body, and what it promised about the connection. */
export interface Framing {
  /** `Transfer-Encoding: chunked` (HTTP/1.1); else the body ends with the connection. */
  chunked: boolean
  /** The connection stays open for another request after the body. */
  keepAlive: boolean
}

/**
 * The subset of a `ServerResponse` that a stream's pump uses: `write`, `end`, `destroy`,
 * and the `drain` and `close` events.
 */
export class CarriedResponse extends EventEmitter {
  readonly socket: Socket
  readonly framing: Framing
  #finished = false
  #early: Buffer[] = []
  #earlyBytes = 0
  #handOff: (socket: Socket) => boolean

  /** `handOff` takes the connection once the body is complete; false when nobody can (it is closed). */
  constructor(socket: Socket, framing: Framing, handOff: (socket: Socket) => boolean) {
    super()
    this.socket = socket
    this.framing = framing
    this.#handOff = handOff
    socket.on('drain', this.#onDrain)
    socket.on('close', this.#onClose)
    // The client is read while the body streams, so that its going away is seen.
    socket.on('data', this.#onData)
    socket.on('end', this.#onEnd)
    socket.on('error', () => socket.destroy())
  }

  get destroyed(): boolean {
    return this.socket.destroyed
  }

  get writableFinished(): boolean {
    return this.#finished
  }

  /** Bytes handed to the socket and not yet to the kernel. */
  get writableLength(): number {
    return this.socket.writableLength
  }

  write(chunk: Uint8Array): boolean {
    if (!this.framing.chunked) return this.socket.write(chunk)
    return this.socket.write(Buffer.concat([Buffer.from(chunk.length.toString(16)), CRLF, chunk, CRLF]))
  }

  end(): void {
    if (this.#finished || this.socket.destroyed) return
    this.#finished = true
    if (this.framing.chunked) this.socket.write(LAST_CHUNK)
    this.#detach()
    this.socket.pause()
    // What the client sent meanwhile is its next request: the HTTP server reads it first.
    if (this.#early.length > 0) this.socket.unshift(Buffer.concat(this.#early))
    if (!this.framing.keepAlive || !this.#handOff(this.socket)) this.socket.end()
    this.emit('finish')
  }

  destroy(): void {
    this.socket.destroy()
  }

  #onDrain = (): void => {
    this.emit('drain')
  }

  #onClose = (): void => {
    this.#detach()
    this.emit('close')
  }

  #onData = (data: Buffer): void => {
    this.#earlyBytes += data.length
    if (this.#earlyBytes > MAX_EARLY_BYTES) this.socket.destroy()
    else this.#early.push(data)
  }

  #onEnd = (): void => {
    if (!this.#finished) this.socket.destroy()
  }

  #detach(): void {
    this.socket.off('drain', this.#onDrain)
    this.socket.off('close', this.#onClose)
    this.socket.off('data', this.#onData)
    this.socket.off('end', this.#onEnd)
  }
}
