/**
 * PTY sessions as a method of the core's {@link Supervisor}: `sup.pty(req)`. The core
 * must not import this layer (imports point down), so the method is added here, by
 * module augmentation, and `src/index.ts` loads this file; `openPty(sup, req)` is the
 * same thing as a plain function.
 */
import { Supervisor } from '../core/table.js'
import { PtySession } from './session.js'
import type { PtyRequest } from './request.js'

export { PtySession, type PtyStartEvent } from './session.js'
export { DEFAULT_COLS, DEFAULT_ROWS, type PtyRequest } from './request.js'

declare module '../core/table.js' {
  interface Supervisor {
    /**
     * Starts `req.command` on a new pseudo-terminal (spec §6), on the same spawn path as
     * `run`/`start`: credentials, its own cgroup, `memory_limit`, OOM reporting.
     * Throws a TypeError (code INVALID_REQUEST) for a bad field; start failures reject
     * `started`/`exited` and emit `error`.
     */
    pty(req: PtyRequest): PtySession
  }
}

/** `sup.pty(req)` as a function. */
export function openPty(sup: Supervisor, req: PtyRequest): PtySession {
  return new PtySession(sup, req)
}

Supervisor.prototype.pty = function pty(this: Supervisor, req: PtyRequest): PtySession {
  return new PtySession(this, req)
}
