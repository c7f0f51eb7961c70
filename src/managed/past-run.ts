/**
 * The last run of a managed process that was not running at a live upgrade
 * (docs/upgrade.md): the new program holds no process for it, so this stand-in shows
 * its ProcessInfo as the old program last had it. Nothing reaches it: signals and stdin
 * answer as for any run that has ended.
 */
import { Child } from '../core/child.js'
import { SupervisedProcess } from '../core/process.js'
import { coded } from '../errors.js'
import type { NativeBinding } from '../native.js'
import type { OutputEncoding, ProcessInfo } from '../types.js'

export class PastRun extends SupervisedProcess {
  readonly #info: ProcessInfo

  constructor(info: ProcessInfo, encoding: OutputEncoding, native: NativeBinding) {
    const child = new Child()
    super(
      {
        handle: info.handle,
        command: info.command,
        args: info.args,
        lineLimit: 0,
        log: null,
        timeoutMs: undefined,
        idleTimeoutMs: undefined,
        timeoutGraceMs: 0,
        encoding,
        maxOutputBytes: undefined,
        drainGraceMs: 0,
        native,
      },
      child,
    )
    this.#info = info
    this.pid = info.pid
    // Never spawned here: not running, no stdin, `started` and `exited` rejected (and handled).
    child.fail(coded(`process ${info.pid} ended before the live upgrade`, 'PROCESS_NOT_RUNNING'))
  }

  override info(): ProcessInfo {
    return structuredClone(this.#info)
  }
}
