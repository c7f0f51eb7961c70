/**
 * One stream's retained lines for {@link OutputLog} (retain.ts): a bounded queue with
 * stable ids, compacted in bulk, and the index each line has in the merged view.
 */
import type { OutputEvent } from '../types.js'

/** Dead slots at the front of a chain are released in bulk, not one shift per line. */
const COMPACT_AT = 4096

/** One stream's retained lines; its ids are indexes within the stream. */
export class Chain {
  events: OutputEvent[] = []
  /** The id of each line in the `'output'` view, ascending. */
  oids: number[] = []
  head = 0
  /** Id of the oldest retained line, which is also the count of dropped ones. */
  base = 0
  bytes = 0

  /** Id the next pushed line gets. */
  get next(): number {
    return this.base + this.events.length - this.head
  }

  event(id: number): OutputEvent {
    return this.events[this.head + id - this.base]
  }

  oid(id: number): number {
    return this.oids[this.head + id - this.base]
  }

  add(event: OutputEvent, oid: number, maxBytes: number, overhead: number): void {
    this.events.push(event)
    this.oids.push(oid)
    this.bytes += event.line.length + overhead
    while (this.bytes > maxBytes) {
      this.bytes -= this.events[this.head].line.length + overhead
      this.head++
      this.base++
    }
    if (this.head >= COMPACT_AT && this.head * 2 >= this.events.length) {
      this.events = this.events.slice(this.head)
      this.oids = this.oids.slice(this.head)
      this.head = 0
    }
  }

  /** Drops every retained line; they count as dropped, ids stay stable. */
  clear(): void {
    this.base = this.next
    this.events = []
    this.oids = []
    this.head = 0
    this.bytes = 0
  }

  /** Smallest retained id whose `'output'` id is above `oid` (binary search). */
  firstAfterOid(oid: number): number {
    let lo = this.base
    let hi = this.next
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.oid(mid) > oid) hi = mid
      else lo = mid + 1
    }
    return lo
  }
}
