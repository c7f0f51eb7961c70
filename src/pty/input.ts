/**
 * The terminal input of one session: queued before the start, then written to the
 * master by the addon's PtyWriter, which never blocks the loop. What waits is counted,
 * so that a caller taking input from elsewhere can bound it (docs/pty.md).
 */
import type { NativeBinding, NativePtyWriter } from '../native.js'

export class TerminalInput {
  readonly #onDrain: () => void
  #writer: NativePtyWriter | null = null
  #early: Buffer[] = []
  #earlyBytes = 0
  /** Queued in the writer, as its last write reported. */
  #queued = 0

  /** `onDrain` follows once input that had to wait has all gone. */
  constructor(onDrain: () => void) {
    this.#onDrain = onDrain
  }

  /** Bytes accepted and not yet taken by the terminal. */
  get length(): number {
    return this.#earlyBytes + this.#queued
  }

  write(buf: Buffer): void {
    if (this.#writer !== null) {
      this.#queued = this.#writer.write(buf)
      return
    }
    this.#early.push(buf)
    this.#earlyBytes += buf.length
  }

  /** The terminal exists: what came before goes to it first. */
  open(native: NativeBinding, master: number): void {
    this.#writer = new native.PtyWriter(master, this.#drained)
    const early = this.#early
    this.#early = []
    this.#earlyBytes = 0
    for (const buf of early) this.#queued = this.#writer.write(buf)
    if (early.length > 0 && this.#queued === 0) this.#onDrain()
  }

  /** The end: input the program never read goes with it. */
  close(): void {
    this.#writer?.close()
    this.#writer = null
    this.#early = []
    this.#earlyBytes = 0
    if (this.#queued > 0) this.#drained()
  }

  #drained = (): void => {
    this.#queued = 0
    this.#onDrain()
  }
}
