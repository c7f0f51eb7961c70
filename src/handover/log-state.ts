/**
 * Retained output across a live upgrade (docs/upgrade.md): an OutputLog's chains to JSON
 * and back, ids unchanged, so a follower resuming by `Last-Event-ID` neither misses nor
 * repeats a line.
 */
import { Chain } from '../core/chain.js'
import type { OutputLog } from '../core/retain.js'
import type { OutputEvent } from '../types.js'
import type { ChainRecord, EventRecord, LogRecord } from './state.js'

function eventRecord(ev: OutputEvent): EventRecord {
  const { data, ...rest } = ev
  return data === undefined ? rest : { ...rest, data: data.toString('base64') }
}

function eventOf(r: EventRecord): OutputEvent {
  return r.data === undefined ? (r as OutputEvent) : { ...r, data: Buffer.from(r.data, 'base64') }
}

function chainRecord(c: Chain): ChainRecord {
  return {
    events: c.events.slice(c.head).map(eventRecord),
    oids: c.oids.slice(c.head),
    base: c.base,
    bytes: c.bytes,
    headEvents: c.headEvents.map(eventRecord),
    headOids: c.headOids,
    headBytes: c.headBytes,
    headClosed: c.headClosed,
  }
}

function chainOf(r: ChainRecord): Chain {
  const c = new Chain()
  c.events = r.events.map(eventOf)
  c.oids = r.oids
  c.base = r.base
  c.bytes = r.bytes
  c.headEvents = r.headEvents.map(eventOf)
  c.headOids = r.headOids
  c.headBytes = r.headBytes
  c.headClosed = r.headClosed
  return c
}

export function logRecord(log: OutputLog): LogRecord {
  const { chains, outputs, done } = log.handoverState
  return { chains: { stdout: chainRecord(chains.stdout), stderr: chainRecord(chains.stderr) }, outputs, done }
}

/** Fills a fresh log (made with the new server's bounds) with the old one's lines. */
export function restoreLog(log: OutputLog, r: LogRecord): void {
  log.restoreHandover({
    chains: { stdout: chainOf(r.chains.stdout), stderr: chainOf(r.chains.stderr) },
    outputs: r.outputs,
    done: r.done,
  })
}
