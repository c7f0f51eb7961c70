/**
 * One stream's retained lines for {@link OutputLog} (retain.ts): the first lines up to a
 * head bound, kept for good, then a bounded queue of the latest ones, with stable ids,
 * compacted in bulk, and the index each line has in the merged view.
 */
import type { OutputEvent } from '../types.js'

/** Dead slots at the front of a chain are released in bulk, not one shift per line. */
const COMPACT_AT = 4096

/** What a retained event costs besides `overhead`: its text, or its bytes (base64 output). */
export function costOf(event: OutputEvent): number {
  return event.data === undefined ? event.line.length : event.data.length
}

/**
 * One stream's retained lines; its ids are indexes within the stream. Retained are ids
 * `[0, headLen)` (the head, never dropped by the bound) and `[base, next)` (the tail);
 * what lies between was dropped.
 */
export class Chain {
  events: OutputEvent[] = []
  /** The id of each line in the `'output'` view, ascending. */
  oids: number[] = []
  head = 0
  /** Id of the oldest retained tail line. */
  base = 0
  /** Cost of the tail. */
  bytes = 0
  headEvents: OutputEvent[] = []
  headOids: number[] = []
  headBytes = 0
  /** Once a line did not fit the head, the head is closed: it is a prefix of the stream. */
  headClosed = false

  /** Ids below this are head lines. */
  get headLen(): number {
    return this.headEvents.length
  }

  /** Lines dropped between the head and the tail. */
  get dropped(): number {
    return this.base - this.headLen
  }

  /** Id the next pushed line gets. */
  get next(): number {
    return this.base + this.events.length - this.head
  }

  /** The first retained id at or after `id`. */
  retainedFrom(id: number): number {
    return id >= this.headLen && id < this.base ? this.base : id
  }

  event(id: number): OutputEvent {
    return id < this.headLen ? this.headEvents[id] : this.events[this.head + id - this.base]
  }

  oid(id: number): number {
    return id < this.headLen ? this.headOids[id] : this.oids[this.head + id - this.base]
  }

  add(event: OutputEvent, oid: number, maxBytes: number, overhead: number, headMax: number): void {
    const cost = costOf(event) + overhead
    if (!this.headClosed) {
      if (this.headBytes + cost <= headMax) {
        this.headEvents.push(event)
        this.headOids.push(oid)
        this.headBytes += cost
        this.base++
        return
      }
      this.headClosed = true
    }
    this.events.push(event)
    this.oids.push(oid)
    this.bytes += cost
    while (this.bytes > maxBytes) {
      this.bytes -= costOf(this.events[this.head]) + overhead
      this.head++
      this.base++
    }
    if (this.head >= COMPACT_AT && this.head * 2 >= this.events.length) {
      this.events = this.events.slice(this.head)
      this.oids = this.oids.slice(this.head)
      this.head = 0
    }
  }

  /** Drops every retained line, head included; they count as dropped, ids stay stable. */
  clear(): void {
    this.base = this.next
    this.events = []
    this.oids = []
    this.head = 0
    this.bytes = 0
    this.headEvents = []
    this.headOids = []
    this.headBytes = 0
    this.headClosed = true
  }

  /** Smallest retained id whose `'output'` id is above `oid` (binary search over head, then tail). */
  firstAfterOid(oid: number): number {
    let lo = 0
    let hi = this.headLen
    if (hi === 0 || this.headOids[hi - 1] <= oid) {
      lo = this.base
      hi = this.next
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.oid(mid) > oid) hi = mid
      else lo = mid + 1
    }
    return lo
  }
}
