/** The write end of a child's stdin pipe, as {@link SupervisedProcess} exposes it. */
import net from 'node:net'

const noop = (): void => {}

export class StdinPipe {
  readonly #socket: net.Socket

  constructor(fd: number) {
    this.#socket = new net.Socket({ fd, readable: false, writable: true })
    // EPIPE once the child stops reading is normal; writes report it themselves.
    this.#socket.on('error', noop)
  }

  get writable(): boolean {
    return this.#socket.writable
  }

  /** Resolves once the bytes are in the pipe. */
  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.write(data, (err) => (err ? reject(err) : resolve()))
    })
  }

  /** EOF for the child. Idempotent. */
  end(): void {
    if (!this.#socket.writableEnded) this.#socket.end()
  }

  /** The pipe's fd while it is open for writing (a live upgrade hands it over), else -1. */
  get fd(): number {
    const handle = (this.#socket as unknown as { _handle?: { fd?: number } | null })._handle
    return this.writable && typeof handle?.fd === 'number' ? handle.fd : -1
  }

  destroy(): void {
    this.#socket.destroy()
  }
}
