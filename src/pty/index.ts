/** PTY sessions: what the public `Supervisor.pty(request)` (src/supervisor.ts) returns. */
export { PtySession, type PtyStartEvent } from './session.js'
export { DEFAULT_COLS, DEFAULT_ROWS, type PtyRequest } from './request.js'
