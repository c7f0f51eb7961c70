/**
 * Small pieces of a managed process's machinery: ending one run, waiting for one, and
 * the queue that makes DELETE and restart apply one at a time, in arrival order.
 */
import type { SupervisedProcess } from '../core/process.js'

const noop = (): void => {}

/** Resolves once `run` is over: exited (reaped, drained, tree gone) or failed to start. */
export function settled(run: SupervisedProcess): Promise<void> {
  return run.exited.then(noop, noop)
}

/**
 * SIGTERM to the run's process group, SIGKILL to its whole tree after `graceMs`;
 * resolves once it is over. A queued spawn is ended the moment it exists.
 */
export async function endGracefully(run: SupervisedProcess, graceMs: number): Promise<void> {
  await run.started.then(noop, noop)
  if (!run.running) return
  // Nothing to signal once reaped (the exit is still draining): the cgroup sweep follows.
  if (!run.signalGroup('SIGTERM')) run.killTree()
  const timer = setTimeout(() => run.killTree(), graceMs)
  await settled(run)
  clearTimeout(timer)
}

/**
 * Runs operations one at a time in the order they were queued. An operation queued while
 * none is running starts synchronously, so its first step happens before any timer that
 * was already due can fire.
 */
export class OpQueue {
  #tail: Promise<void> = Promise.resolve()
  #pending = 0

  /** True while an operation runs or waits. */
  get busy(): boolean {
    return this.#pending > 0
  }

  /** Resolves once every operation queued so far has finished (and `busy` says so). */
  idle(): Promise<void> {
    return this.#tail
  }

  run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#pending === 0 ? op() : this.#tail.then(op)
    this.#pending++
    this.#tail = result.then(noop, noop).then(() => {
      this.#pending--
    })
    return result
  }
}
