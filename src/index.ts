/** Public exports of sandproc: what README.md and docs/ document, and the types they name. */
export {
  Supervisor,
  openPty,
  type Capabilities,
  type SupervisorOptions,
  type SupervisorObserver,
  type HandoverOptions,
} from './supervisor.js'
export { ManagedProcess } from './managed/process.js'
export type * from './managed/events.js'
export { SupervisedProcess } from './core/process.js'
export { OutputLog, type LogView } from './core/retain.js'
export type * from './types.js'
export { createServer, shutdown, type ServerOptions } from './server/server.js'
export { AuditLog } from './server/monitor/audit-log.js'
export {
  runEventStream,
  followEventStream,
  toReadableStream,
  type EventStream,
  type StreamOptions,
  type FollowOptions,
} from './server/sse/streams.js'
export { dataFrame, eventFrame, commentFrame, SSE_HEADERS } from './server/sse/frames.js'
export { toErrorResponse } from './server/http/errors.js'
export { spawnErrorResponse, type ErrorBody, type ErrorCode, type ErrorResponse } from './errors.js'
export type { PtySession, PtyRequest, PtyStartEvent } from './pty/index.js'
