/** Public exports of sandproc. */
export { Supervisor, type Capabilities, type SupervisorOptions } from './supervisor.js'
export { SupervisedProcess } from './process.js'
export { OutputLog, type LogView } from './retain.js'
export type * from './types.js'
