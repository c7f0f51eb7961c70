/**
 * `sandproc run`: one process in the foreground, its output passed through (or its
 * events as JSON lines), its exit status as sandproc's own.
 */
import type { Writable } from 'node:stream'
import type { RunConfig } from './args.js'
import { errorCode, spawnErrorResponse } from '../errors.js'
import { Supervisor } from '../supervisor.js'
import type { DroppedEvent, ExitEvent, OutputEvent, ProcessEvent } from '../types.js'
import { droppedLine, endingLine } from './ending.js'

/** Where `run` writes. */
export interface RunIO {
  stdout: Writable
  stderr: Writable
}

/** Exit status for an exit event: the code, or 128 + the signal as shells report it. */
export function exitStatus(ev: ExitEvent): number {
  return ev.exit_code ?? 128 + (ev.signal ?? 0)
}

/**
 * Runs `cfg.request` and resolves with sandproc's exit status: the process's, 127 when
 * the program does not exist, 126 when it cannot be started otherwise, 2 for a request
 * the supervisor refuses (bad user, bad field).
 */
export async function runCommand(cfg: RunConfig, io: RunIO): Promise<number> {
  const sup = new Supervisor()
  try {
    let proc
    try {
      proc = sup.run(cfg.request)
    } catch (err) {
      return refused(err, cfg, io)
    }
    const out = new BatchedWriter(io.stdout, proc)
    const err = new BatchedWriter(io.stderr, proc)
    if (cfg.json) {
      const line = (ev: ProcessEvent): void => out.add(`${JSON.stringify(ev)}\n`)
      proc.on('start', line)
      proc.on('output', line)
      proc.on('dropped', line)
      proc.on('exit', line)
    } else {
      proc.on('output', (ev: OutputEvent) => (ev.stream === 'stdout' ? out : err).add(`${ev.line}\n`))
      proc.on('dropped', (ev: DroppedEvent) => err.add(droppedLine(ev)))
    }
    const stopForwarding = forwardSignals(proc)
    try {
      const exit = await proc.exited
      // Plain mode: how it ended, when it did not simply exit (exit status 137 says little).
      const ending = cfg.json ? null : endingLine(exit, cfg.request)
      if (ending !== null) err.add(ending)
      await Promise.all([out.flushed(), err.flushed()])
      return exitStatus(exit)
    } catch (spawnError) {
      return refused(spawnError, cfg, io)
    } finally {
      stopForwarding()
    }
  } finally {
    await sup.close()
  }
}

function refused(err: unknown, cfg: RunConfig, io: RunIO): number {
  const { body } = spawnErrorResponse(err)
  const detail =
    body.errno !== undefined && !body.error.includes(body.errno)
      ? ` (${body.errno}${body.syscall ? `, ${body.syscall}` : ''})`
      : ''
  io.stderr.write(`sandproc: cannot run ${cfg.request.command}: ${body.error}${detail}\n`)
  if (cfg.json) io.stdout.write(`${JSON.stringify(body)}\n`)
  if (body.code !== 'SPAWN_FAILED' && body.code !== 'TOO_MANY_OPEN_FILES') return 2
  return errorCode(err) === 'ENOENT' ? 127 : 126
}

/**
 * The child runs in its own session, so a terminal's Ctrl-C does not reach it: pass
 * SIGINT/SIGTERM/SIGHUP on, and kill the whole tree when one comes a second time.
 */
function forwardSignals(proc: { kill(sig: NodeJS.Signals): boolean; killTree(): void }): () => void {
  let seen = 0
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((sig) => {
    const handler = (): void => {
      if (++seen > 1) proc.killTree()
      else proc.kill(sig)
    }
    process.on(sig, handler)
    return [sig, handler] as const
  })
  return () => {
    for (const [sig, handler] of handlers) process.off(sig, handler)
  }
}

/**
 * One `write` per turn of the event loop, and the process's pipes paused while the
 * destination is full, so a slow terminal or pipe slows the process instead of
 * buffering its output here.
 */
class BatchedWriter {
  #dest: Writable
  #proc: { pause(): void; resume(): void }
  #text = ''
  #scheduled = false
  #pending: Promise<void> = Promise.resolve()

  constructor(dest: Writable, proc: { pause(): void; resume(): void }) {
    this.#dest = dest
    this.#proc = proc
  }

  add(text: string): void {
    this.#text += text
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => this.#flush())
  }

  /** Resolves once everything added has been handed to the destination and drained. */
  async flushed(): Promise<void> {
    while (this.#scheduled) await new Promise((resolve) => setImmediate(resolve))
    await this.#pending
  }

  #flush(): void {
    this.#scheduled = false
    const text = this.#text
    this.#text = ''
    if (this.#dest.write(text)) return
    this.#proc.pause()
    this.#pending = new Promise((resolve) => {
      this.#dest.once('drain', () => {
        this.#proc.resume()
        resolve()
      })
    })
  }
}
