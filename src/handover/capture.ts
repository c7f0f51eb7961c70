/**
 * The old program's half of a live upgrade (docs/upgrade.md): wait until no process is
 * between two states the state file cannot describe (a spawn in flight, a child reaped
 * whose exit waits for its pipes), then read everything in one synchronous pass, so
 * that no byte is read from a pipe between the reading and the execve.
 */
import fs from 'node:fs'

import { coded } from '../errors.js'
import { ProcessCgroup } from '../cgroup/index.js'
import type { Child } from '../core/child.js'
import type { SupervisedProcess } from '../core/process.js'
import type { ProcessTable } from '../core/table.js'
import type { NativeBinding } from '../native.js'
import type { PtySession } from '../pty/index.js'
import { logRecord } from './log-state.js'
import { capturePtys, ptysInBetween } from './pty-state.js'
import type { OldWatchdogs } from './guards.js'
import { STATE_VERSION, type EndedRecord, type HandoverState, type ProcessRecord } from './state.js'

function isOpen(fd: number): boolean {
  try {
    fs.fstatSync(fd)
    return true
  } catch {
    return false
  }
}

const noop = (): void => {}

/** Rounds of waiting for in-between processes before a handover gives up as busy. */
const SETTLE_ROUNDS = 20

/** A process that is running but cannot be described now: reaped and draining. */
function inBetween(p: SupervisedProcess): boolean {
  return p.running && p.handover() === null
}

/** Resolves once a child in flight has spawned or failed. */
function launched(c: Child): Promise<void> {
  if (!c.pending) return Promise.resolve()
  return new Promise((resolve) => {
    c.once('spawn', resolve)
    c.once('fail', resolve)
  })
}

/**
 * Resolves once no process of `table` is in between, waiting for each at most `boundMs`.
 * @throws Error with code `HANDOVER_BUSY` when processes keep arriving in between.
 */
export async function settle(table: ProcessTable, boundMs: number, ptys: () => PtySession[]): Promise<void> {
  for (let round = 0; round < SETTLE_ROUNDS; round++) {
    const view = table.handoverView
    const draining = view.running.filter(inBetween)
    const terminals = ptysInBetween(ptys())
    if (view.pending.length === 0 && draining.length === 0 && terminals.length === 0) return
    let timer: NodeJS.Timeout | undefined
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, boundMs)))
    await Promise.race([
      Promise.all([...view.pending.map(launched), ...draining.map((p) => p.exited.then(noop, noop)), ...terminals]),
      bound,
    ])
    clearTimeout(timer)
  }
  throw coded('processes kept starting or ending during the handover; try again', 'HANDOVER_BUSY')
}

function endedRecord(p: SupervisedProcess): EndedRecord {
  const info = p.info()
  return {
    handle: p.handle,
    pid: p.pid,
    command: p.command,
    args: p.args,
    encoding: p.encoding,
    user: info.user,
    startedAt: info.started_at,
    endedAt: info.ended_at ?? Date.now(),
    exit: p.exitEvent!,
    log: p.log === null ? null : logRecord(p.log),
  }
}

/**
 * The state and the fds to keep open across the execve. Synchronous: call right before
 * it. `listed` says which exited processes are the table's own to hand over (a layer
 * above hands over its own).
 */
export function capture(
  table: ProcessTable,
  native: NativeBinding,
  old: OldWatchdogs | undefined,
  extra: unknown,
  ptys: PtySession[],
  listed: (p: SupervisedProcess) => boolean = () => true,
): { state: HandoverState; keepFds: number[] } {
  const view = table.handoverView
  const guards = old?.handover(native) ?? { records: [], indexOf: () => null }
  const watchdogs = guards.records
  const own = view.watchdog?.handover(native) ?? null
  if (own !== null) watchdogs.push(own)
  // Node marks its own stdio close-on-exec: without these the new program's output is lost.
  const keepFds = [
    ...[0, 1, 2].filter(isOpen),
    ...watchdogs.flatMap((w) => [w.fd, w.pidfd, w.shm ?? -1].filter((fd) => fd >= 0)),
  ]
  const processes: ProcessRecord[] = []
  for (const p of view.running) {
    const h = p.handover()
    if (h === null) throw coded(`process ${p.pid} changed state during the handover`, 'HANDOVER_BUSY')
    const cg = h.cgroup instanceof ProcessCgroup ? h.cgroup : null
    processes.push({
      handle: h.handle,
      pid: h.pid,
      pidfd: h.pidfd,
      fds: h.fds,
      command: h.command,
      args: h.args,
      encoding: h.encoding,
      user: h.user,
      startedAt: h.startedAt,
      elapsedMs: h.elapsedMs,
      pipes: Object.fromEntries(
        Object.entries(h.pipes).map(([s, v]) => [s, { bytes: v.bytes, pending: v.pending.toString('base64') }]),
      ),
      ...(h.timeoutMs === undefined ? {} : { timeoutMs: h.timeoutMs }),
      ...(h.graceMs === undefined ? {} : { graceMs: h.graceMs }),
      idleTimeoutMs: h.idleTimeoutMs,
      timeoutGraceMs: h.timeoutGraceMs,
      maxOutputBytes: h.maxOutputBytes,
      lineLimit: h.lineLimit,
      ending: h.ending,
      killedBySupervisor: h.killedBySupervisor,
      treeKilled: h.treeKilled,
      cgroup:
        cg === null ? null : { path: cg.path, mode: cg.mode, baseline: cg.oomBaseline, memoryLimit: cg.memoryLimit },
      log: p.log === null ? null : logRecord(p.log),
      watchdog: guards.indexOf(p) ?? (own === null ? null : watchdogs.length - 1),
    })
    keepFds.push(h.pidfd, ...h.fds.filter((fd) => fd >= 0))
  }
  const ownIndex = own === null ? null : watchdogs.length - 1
  const terminals = capturePtys(ptys, (s) => guards.indexOf(s) ?? ownIndex)
  keepFds.push(...terminals.keepFds)
  const state: HandoverState = {
    version: STATE_VERSION,
    capturedAt: Date.now(),
    handles: view.handles,
    total: view.total,
    watchdogs,
    processes,
    ended: view.ended.filter(listed).map(endedRecord),
    ...(terminals.records.length === 0 ? {} : { ptys: terminals.records }),
    extra,
  }
  return { state, keepFds }
}
