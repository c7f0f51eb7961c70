/**
 * The audit log file (docs/monitoring.md): one JSON object per line, appended with one
 * write each, so every line is in the file when the event is over and lines never
 * interleave. `reopen()` is what SIGHUP calls after logrotate renamed the file.
 */
import { closeSync, openSync, writeSync } from 'node:fs'

export class AuditLog {
  readonly path: string
  /** Gets a failed write (a full disk); the event itself goes on. Default: `console.error`. */
  onError: (err: unknown) => void = (err) => console.error('sandproc: audit log write failed:', err)
  #fd: number

  /** Opens (creates) `path` for appending. Throws the open's system error. */
  constructor(path: string) {
    if (typeof path !== 'string' || path === '') throw new TypeError('auditLog must be a non-empty path')
    this.path = path
    this.#fd = openSync(path, 'a', 0o600)
  }

  /** Appends `record` as one line, with `time` (ISO 8601) first. */
  write(record: Record<string, unknown>): void {
    if (this.#fd < 0) return
    try {
      writeSync(this.#fd, `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`)
    } catch (err) {
      this.onError(err)
    }
  }

  /** Opens the path anew (after a rename), then closes the old file. */
  reopen(): void {
    const fd = openSync(this.path, 'a', 0o600)
    const old = this.#fd
    this.#fd = fd
    if (old >= 0) closeSync(old)
  }

  close(): void {
    if (this.#fd < 0) return
    closeSync(this.#fd)
    this.#fd = -1
  }
}
