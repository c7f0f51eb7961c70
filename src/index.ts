/** Public exports of sandproc. */
export { type Capabilities, type SupervisorOptions, type SupervisorObserver } from './core/table.js'
export { Supervisor } from './supervisor.js'
export { ManagedProcess } from './managed/process.js'
export type * from './managed/events.js'
export { SupervisedProcess } from './core/process.js'
export { OutputLog, type LogView } from './core/retain.js'
export type * from './types.js'
export { createServer, shutdown, DEFAULT_MAX_PROCESSES, type ServerOptions } from './server/server.js'
export { AuditLog } from './server/monitor/audit-log.js'
export {
  runEventStream,
  followEventStream,
  toReadableStream,
  DEFAULT_KEEP_ALIVE_MS,
  DEFAULT_HIGH_WATER_MARK,
  type EventStream,
  type StreamOptions,
  type FollowOptions,
} from './server/streams.js'
export { dataFrame, eventFrame, commentFrame, KEEP_ALIVE_FRAME, SSE_HEADERS } from './server/sse.js'
export { HttpError, toErrorResponse, spawnErrorResponse, type ErrorBody, type ErrorCode, type ErrorResponse } from './server/errors.js'
export { openPty, PtySession, DEFAULT_COLS, DEFAULT_ROWS, type PtyRequest, type PtyStartEvent } from './pty/index.js'
