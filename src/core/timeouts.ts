/**
 * A process's clocks (docs/endings.md): `timeout` from the start, `idle_timeout` since
 * the last byte read, and the `timeout_grace` between the SIGTERM a firing clock sends to
 * the tree and the SIGKILL that follows.
 */

export interface TimeoutSettings {
  timeoutMs: number | undefined
  idleTimeoutMs: number | undefined
  /** 0: SIGKILL at once, as a plain `timeout` always did. */
  graceMs: number
}

export interface TimeoutActions {
  /** A clock fired; returns false when the process is already being ended (nothing to do). */
  fire(reason: 'timed_out' | 'idle_timeout'): boolean
  /** SIGTERM to the whole tree. */
  term(): void
  /** SIGKILL to the whole tree. */
  kill(): void
}

export class ProcessTimeouts {
  readonly #s: TimeoutSettings
  readonly #act: TimeoutActions
  #timeout: NodeJS.Timeout | null = null
  #idle: NodeJS.Timeout | null = null
  #grace: NodeJS.Timeout | null = null
  #refed = true
  #paused = false
  /** Clocks run only between start() and clear(). */
  #running = false
  /** `performance.now()` when the timeout and the grace end: what a live upgrade hands over. */
  #timeoutEnds: number | null = null
  #graceEnds: number | null = null

  constructor(s: TimeoutSettings, act: TimeoutActions) {
    this.#s = s
    this.#act = act
  }

  /** The child exists: both clocks start. */
  start(): void {
    this.#running = true
    const { timeoutMs } = this.#s
    if (timeoutMs !== undefined) {
      this.#timeout = this.#apply(setTimeout(() => this.#fire('timed_out'), timeoutMs))
      this.#timeoutEnds = performance.now() + timeoutMs
    }
    this.#armIdle()
  }

  /** What is left of the timeout and of a grace under way, ms (docs/upgrade.md). */
  remaining(): { timeoutMs?: number; graceMs?: number } {
    const now = performance.now()
    const left = (end: number | null): number | undefined => (end === null ? undefined : Math.max(0, end - now))
    return {
      ...(this.#timeout === null ? {} : { timeoutMs: left(this.#timeoutEnds) }),
      ...(this.#grace === null ? {} : { graceMs: left(this.#graceEnds) }),
    }
  }

  /** After a live upgrade: the grace the old server had started goes on with what was left of it. */
  resumeGrace(ms: number): void {
    this.#clearIdle()
    if (this.#timeout !== null) clearTimeout(this.#timeout)
    this.#timeout = null
    this.#grace = this.#apply(setTimeout(() => this.#act.kill(), ms))
    this.#graceEnds = performance.now() + ms
  }

  /** Bytes were read: the idle clock starts over. Runs once per read, so it only refreshes. */
  noteData(): void {
    this.#idle?.refresh()
  }

  /**
   * The pipes are not read (a slow consumer): whether the program is quiet cannot be
   * known then, so the idle clock stops until reading resumes.
   */
  pause(): void {
    this.#paused = true
    this.#clearIdle()
  }

  resume(): void {
    this.#paused = false
    this.#armIdle()
  }

  setRef(refed: boolean): void {
    this.#refed = refed
    for (const t of [this.#timeout, this.#idle, this.#grace]) this.#apply(t)
  }

  /**
   * The main process was reaped: neither clock may fire any more, but a grace under way
   * still ends with its SIGKILL (for what is left of the tree) until {@link clear}.
   */
  reaped(): void {
    this.#running = false
    this.#clearIdle()
    if (this.#timeout !== null) clearTimeout(this.#timeout)
    this.#timeout = null
  }

  /** The exit is delivered: nothing may fire any more. */
  clear(): void {
    this.#running = false
    this.#clearIdle()
    for (const t of [this.#timeout, this.#grace]) if (t !== null) clearTimeout(t)
    this.#timeout = this.#grace = null
  }

  #fire(reason: 'timed_out' | 'idle_timeout'): void {
    if (!this.#act.fire(reason)) return
    this.#clearIdle()
    if (this.#timeout !== null) clearTimeout(this.#timeout)
    this.#timeout = null
    if (this.#s.graceMs === 0) return this.#act.kill()
    this.#act.term()
    this.#grace = this.#apply(setTimeout(() => this.#act.kill(), this.#s.graceMs))
    this.#graceEnds = performance.now() + this.#s.graceMs
  }

  #armIdle(): void {
    const ms = this.#s.idleTimeoutMs
    if (ms === undefined || !this.#running || this.#paused || this.#grace !== null) return
    this.#clearIdle()
    this.#idle = this.#apply(setTimeout(() => this.#fire('idle_timeout'), ms))
  }

  #clearIdle(): void {
    if (this.#idle !== null) clearTimeout(this.#idle)
    this.#idle = null
  }

  #apply<T extends NodeJS.Timeout | null>(t: T): T {
    if (t !== null) {
      if (this.#refed) t.ref()
      else t.unref()
    }
    return t
  }
}
