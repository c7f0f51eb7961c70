/**
 * Retained output of a `start()`ed process (docs/protocol.md "Retention"): what the
 * snapshot and follow endpoints read. Bounded per stream; nothing here uses timers or
 * polls.
 */
import type { OutputEvent, StreamName } from '../types.js'
import { Chain } from './chain.js'

/** A stream's lines, or both streams in the order they were pushed (`'output'`). */
export type LogView = StreamName | 'output'

/** A line as `follow()` yields it. */
export interface LogEntry {
  /** 0-based index of the line within its view, dropped lines included: stable for a line's life. */
  id: number
  event: OutputEvent
}

/** Options of {@link OutputLog}. */
export interface OutputLogOptions {
  /** Bound per stream, in retained-line cost (see {@link OutputLog}). Default 8 MiB. */
  maxBytes?: number
  /**
   * What a line costs besides its text. Default 1 (the newline). A supervisor that must
   * bound its memory passes {@link LINE_HEAP_OVERHEAD}: without it a stream of short
   * lines holds ~50 times the bound (8 MiB of `yes` output: 4 million lines, 420 MiB).
   */
  lineOverhead?: number
  /**
   * The first lines of each stream up to this cost are kept for good, besides the
   * `maxBytes` of latest ones: a long output keeps its beginning and its end, and what
   * falls between is dropped and counted (docs/endings.md). Default 0.
   */
  headBytes?: number
}

/** A snapshot of one view. */
export interface LogSnapshot {
  lines: OutputEvent[]
  /** Lines of the view that were dropped (between the head and the tail). */
  dropped: number
  /** With lines dropped after a retained head: the index in `lines` of the last line before the gap. */
  truncatedAfter?: number
}

/**
 * Heap bytes a retained line takes besides its text: the event object with its
 * timestamp, and its slots in the events and ids arrays (about 100 in Node 20).
 */
export const LINE_HEAP_OVERHEAD = 96

const DEFAULT_MAX_BYTES = 8 * 1024 * 1024
/**
 * The bounded output of one process. Each stream keeps at most `maxBytes` of line cost:
 * the line's length in UTF-16 code units (for ASCII output exactly the bytes the process
 * wrote, less any `\r`, with no extra pass over the string; non-ASCII text can keep up to
 * 3x as many UTF-8 bytes) plus `lineOverhead`, which also bounds the number of retained
 * lines when they are empty. It drops its oldest lines first; a line costing more than
 * the bound on its own is dropped at once. The `'output'` view is exactly the lines both
 * streams retain, in push order, with ids of its own.
 *
 * Events are kept as pushed (not copied) and handed out as is: do not mutate them.
 */
export class OutputLog {
  private readonly maxBytes: number
  private readonly overhead: number
  private readonly headMax: number
  private readonly chains: Record<StreamName, Chain> = { stdout: new Chain(), stderr: new Chain() }
  private outputs = 0
  private done = false
  /** Resolvers of followers waiting for a line or the end; each is woken once, then removed. */
  private readonly waiters = new Set<() => void>()

  constructor(opts: OutputLogOptions = {}) {
    const max = opts.maxBytes ?? DEFAULT_MAX_BYTES
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new TypeError(`maxBytes must be an integer >= 0, got ${String(max)}`)
    }
    this.maxBytes = max
    const overhead = opts.lineOverhead ?? 1
    if (!Number.isSafeInteger(overhead) || overhead < 1) {
      throw new TypeError(`lineOverhead must be an integer >= 1, got ${String(overhead)}`)
    }
    this.overhead = overhead
    const head = opts.headBytes ?? 0
    if (!Number.isSafeInteger(head) || head < 0) {
      throw new TypeError(`headBytes must be an integer >= 0, got ${String(head)}`)
    }
    this.headMax = head
  }

  /** What a live upgrade hands over (docs/upgrade.md): the chains with their ids, as they are. */
  get handoverState(): { chains: Record<StreamName, Chain>; outputs: number; done: boolean } {
    return { chains: this.chains, outputs: this.outputs, done: this.done }
  }

  /** Takes the old server's lines and ids (from {@link handoverState}); followers keep their place. */
  restoreHandover(s: { chains: Record<StreamName, Chain>; outputs: number; done: boolean }): void {
    this.chains.stdout = s.chains.stdout
    this.chains.stderr = s.chains.stderr
    this.outputs = s.outputs
    this.done = s.done
  }

  /** Retained cost of both streams together, in the unit of `maxBytes`. */
  get bytes(): number {
    const { stdout, stderr } = this.chains
    return stdout.bytes + stdout.headBytes + stderr.bytes + stderr.headBytes
  }

  /**
   * Drops every retained line, as the bound would have: snapshots then show them as
   * dropped and followers skip them. A supervisor uses it to keep its total bounded.
   */
  release(): void {
    this.chains.stdout.clear()
    this.chains.stderr.clear()
    this.wake()
  }

  /** True once {@link end} was called. */
  get ended(): boolean {
    return this.done
  }

  /** Appends a line to its stream. Ignored after {@link end}: a process's output is final then. */
  push(ev: OutputEvent): void {
    if (this.done) return
    this.chains[ev.stream].add(ev, this.outputs++, this.maxBytes, this.overhead, this.headMax)
    this.wake()
  }

  /** No more lines will come; followers return once they have yielded what is retained. */
  end(): void {
    if (this.done) return
    this.done = true
    this.wake()
  }

  /**
   * Takes lines again after {@link end}: a managed process keeps one log across its runs
   * and may be restarted after it stopped. Followers that already returned stay returned.
   */
  reopen(): void {
    this.done = false
  }

  /** The retained lines of a view, oldest first, and how many lines of that view were dropped. */
  snapshot(view: LogView): LogSnapshot {
    checkView(view)
    if (view !== 'output') {
      const c = this.chains[view]
      const lines = c.headLen === 0 ? c.events.slice(c.head) : c.headEvents.concat(c.events.slice(c.head))
      return c.dropped === 0 || c.headLen === 0
        ? { lines, dropped: c.dropped }
        : { lines, dropped: c.dropped, truncatedAfter: c.headLen - 1 }
    }
    const lines: OutputEvent[] = []
    const { stdout, stderr } = this.chains
    let truncatedAfter: number | undefined
    let i = stdout.retainedFrom(0)
    let j = stderr.retainedFrom(0)
    while (i < stdout.next || j < stderr.next) {
      const [c, id] =
        j >= stderr.next || (i < stdout.next && stdout.oid(i) < stderr.oid(j)) ? [stdout, i++] : [stderr, j++]
      // The first line that follows a gap in its stream: the gap is just before it.
      if (truncatedAfter === undefined && c.dropped > 0 && id === c.base) truncatedAfter = lines.length - 1
      lines.push(c.event(id))
      i = stdout.retainedFrom(i)
      j = stderr.retainedFrom(j)
    }
    const dropped = stdout.dropped + stderr.dropped
    if (dropped > 0) truncatedAfter ??= lines.length - 1
    // A gap before every retained line (no head, or a released log): `dropped` says all there is.
    return truncatedAfter === undefined || truncatedAfter < 0 ? { lines, dropped } : { lines, dropped, truncatedAfter }
  }

  /**
   * Yields the retained lines of `view` with an id above `after` (default -1: all of them),
   * then each new line as it is pushed; returns once {@link end} was called and everything
   * retained was yielded, or as soon as `signal` aborts (without throwing). A follower that
   * falls behind by more than the bound resumes at the oldest retained line: the gap shows
   * as a jump in `id`. Iteration is lazy: nothing is registered before the first `next()`.
   */
  follow(view: LogView, after = -1, signal?: AbortSignal): AsyncIterable<LogEntry> {
    checkView(view)
    if (!Number.isSafeInteger(after) || after < -1) {
      throw new TypeError(`after must be an integer >= -1, got ${String(after)}`)
    }
    return view === 'output' ? this.followOutput(after, signal) : this.followStream(this.chains[view], after, signal)
  }

  private async *followStream(c: Chain, after: number, signal?: AbortSignal): AsyncGenerator<LogEntry> {
    let id = after + 1
    for (;;) {
      if (signal?.aborted) return
      id = c.retainedFrom(id)
      if (id < c.next) {
        yield { id, event: c.event(id) }
        id++
      } else if (this.done || !(await this.waitFor(signal))) {
        return
      }
    }
  }

  private async *followOutput(after: number, signal?: AbortSignal): AsyncGenerator<LogEntry> {
    const { stdout, stderr } = this.chains
    // Each stream's next candidate; `last` also covers an `after` beyond the lines so far.
    let last = after
    let i = stdout.firstAfterOid(after)
    let j = stderr.firstAfterOid(after)
    for (;;) {
      if (signal?.aborted) return
      i = stdout.retainedFrom(i)
      j = stderr.retainedFrom(j)
      while (i < stdout.next && stdout.oid(i) <= last) i++
      while (j < stderr.next && stderr.oid(j) <= last) j++
      const a = i < stdout.next ? stdout.oid(i) : Infinity
      const b = j < stderr.next ? stderr.oid(j) : Infinity
      if (a < b) {
        last = a
        yield { id: a, event: stdout.event(i++) }
      } else if (b < a) {
        last = b
        yield { id: b, event: stderr.event(j++) }
      } else if (this.done || !(await this.waitFor(signal))) {
        return
      }
    }
  }

  /** Resolves on the next push or end (true), or when `signal` aborts (false). */
  private waitFor(signal?: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const onLine = (): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve(true)
      }
      const onAbort = (): void => {
        this.waiters.delete(onLine)
        resolve(false)
      }
      this.waiters.add(onLine)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  private wake(): void {
    if (this.waiters.size === 0) return
    const woken = [...this.waiters]
    this.waiters.clear()
    for (const w of woken) w()
  }
}

function checkView(view: LogView): void {
  if (view !== 'stdout' && view !== 'stderr' && view !== 'output') {
    throw new TypeError(`view must be 'stdout', 'stderr' or 'output', got ${String(view)}`)
  }
}
