/**
 * A process's clocks (docs/endings.md): `timeout` from the start, `idle_timeout` since
 * the last byte read, and the `timeout_grace` between the SIGTERM a firing clock sends to
 * the tree and the SIGKILL that follows. A frozen tree's clocks stop and resume with the
 * time they had left (docs/freeze.md).
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
  #frozen = false
  /** When the timeout (or the grace) fires, on `performance.now()`'s clock; while frozen, the ms it has left. */
  #timeoutAt = 0
  #graceAt = 0
  /** Clocks run only between start() and clear(). */
  #running = false

  constructor(s: TimeoutSettings, act: TimeoutActions) {
    this.#s = s
    this.#act = act
  }

  /** The child exists: both clocks start. */
  start(): void {
    this.#running = true
    const { timeoutMs } = this.#s
    if (timeoutMs !== undefined) this.#armTimeout(timeoutMs)
    this.#armIdle()
  }

  /** What is left of the timeout and of a grace under way, ms (docs/upgrade.md). */
  remaining(): { timeoutMs?: number; graceMs?: number } {
    // While frozen the clocks hold what they have left, else when they end.
    const left = (at: number): number => (this.#frozen ? at : Math.max(0, at - performance.now()))
    return {
      ...(this.#timeout === null || this.#timeoutAt < 0 ? {} : { timeoutMs: left(this.#timeoutAt) }),
      ...(this.#grace === null || this.#graceAt < 0 ? {} : { graceMs: left(this.#graceAt) }),
    }
  }

  /** After a live upgrade: the grace the old server had started goes on with what was left of it. */
  resumeGrace(ms: number): void {
    this.#running = true
    this.#clearIdle()
    if (this.#timeout !== null) clearTimeout(this.#timeout)
    this.#timeout = null
    this.#armGrace(ms)
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

  /**
   * The tree is frozen: the timeout and a grace under way stop, keeping what they have
   * left; the idle clock stops as it does for a slow consumer.
   */
  freeze(): void {
    if (this.#frozen) return
    this.#frozen = true
    this.#clearIdle()
    const now = performance.now()
    if (this.#timeout !== null) {
      clearTimeout(this.#timeout)
      this.#timeout = null
      this.#timeoutAt = Math.max(0, this.#timeoutAt - now)
    } else this.#timeoutAt = -1
    if (this.#grace !== null) {
      clearTimeout(this.#grace)
      this.#graceAt = Math.max(0, this.#graceAt - now)
    } else this.#graceAt = -1
  }

  /** The tree runs again: the stopped clocks go on with the time they had left; idle starts over. */
  thaw(): void {
    if (!this.#frozen) return
    this.#frozen = false
    if (!this.#running && this.#grace === null) return
    if (this.#timeoutAt >= 0 && this.#running) this.#armTimeout(this.#timeoutAt)
    if (this.#grace !== null && this.#graceAt >= 0) this.#armGrace(this.#graceAt)
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
    this.#armGrace(this.#s.graceMs)
  }

  #armTimeout(ms: number): void {
    this.#timeoutAt = performance.now() + ms
    this.#timeout = this.#apply(setTimeout(() => this.#fire('timed_out'), ms))
  }

  // #grace stays set while frozen (its timer cleared): a grace is under way.
  #armGrace(ms: number): void {
    this.#graceAt = performance.now() + ms
    this.#grace = this.#apply(setTimeout(() => this.#act.kill(), ms))
  }

  #armIdle(): void {
    const ms = this.#s.idleTimeoutMs
    if (ms === undefined || !this.#running || this.#paused || this.#frozen || this.#grace !== null) return
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
