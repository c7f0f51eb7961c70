/**
 * The state a live upgrade hands from the old program to the new one (docs/upgrade.md),
 * as JSON in a memfd whose number the new program finds in `SANDPROC_HANDOVER`.
 */
import fs from 'node:fs'

import type { Ending } from '../core/ending.js'
import type { WatchdogHandover } from '../core/watchdog.js'
import type { ExitEvent, OutputEncoding, OutputEvent, StreamName } from '../types.js'
import type { ManagedRecord } from './managed-state.js'
import type { PtyRecord } from './pty-state.js'

/** The environment variable that names the memfd. */
export const HANDOVER_ENV = 'SANDPROC_HANDOVER'

/**
 * Bumped when the shape changes: a program refuses a state it does not know. 2: a
 * watchdog's slot table (`shm`), which a program of version 1 would not clear.
 */
export const STATE_VERSION = 2

/** The versions this program reads: its own, and version 1 (watchdogs without `shm`). */
export const READABLE_VERSIONS: readonly number[] = [1, STATE_VERSION]

/** An old server's watchdog, still guarding the processes that server started. */
export type WatchdogRecord = WatchdogHandover

/** A retained line as JSON: the bytes of a base64-encoded chunk as base64. */
export type EventRecord = Omit<OutputEvent, 'data'> & { data?: string }

/** One stream's retained lines and ids (core/chain.ts). */
export interface ChainRecord {
  events: EventRecord[]
  oids: number[]
  base: number
  bytes: number
  headEvents: EventRecord[]
  headOids: number[]
  headBytes: number
  headClosed: boolean
}

export interface LogRecord {
  chains: Record<StreamName, ChainRecord>
  outputs: number
  done: boolean
}

/** One running process. */
export interface ProcessRecord {
  handle: number
  pid: number
  pidfd: number
  fds: [number, number, number]
  command: string
  args: string[]
  encoding: OutputEncoding
  user: { uid: number; gid: number }
  startedAt: number
  elapsedMs: number
  /** Per open stream: bytes read, and the line in progress as base64. */
  pipes: Partial<Record<StreamName, { bytes: number; pending: string }>>
  timeoutMs?: number
  graceMs?: number
  idleTimeoutMs: number | undefined
  timeoutGraceMs: number
  maxOutputBytes: number | undefined
  lineLimit: number
  ending: Ending | null
  killedBySupervisor: boolean
  treeKilled: boolean
  cgroup: { path: string; mode: 'v1' | 'v2'; baseline: number | null; memoryLimit: number | null } | null
  /** Retained output (`start`ed processes), null for a `run`. */
  log: LogRecord | null
  /** Index in {@link HandoverState.watchdogs} of the watchdog that guards it. */
  watchdog: number | null
}

/** One exited process still listed, with its exit and retained output. */
export interface EndedRecord {
  handle: number
  pid: number
  command: string
  args: string[]
  encoding: OutputEncoding
  user: { uid: number; gid: number } | null
  startedAt: number
  endedAt: number
  exit: ExitEvent
  log: LogRecord | null
}

export interface HandoverState {
  version: number
  /** `Date.now()` when the state was read: clocks go on counting across the swap. */
  capturedAt: number
  /** The last handle given out, and processes started, so both go on counting. */
  handles: number
  total: number
  watchdogs: WatchdogRecord[]
  processes: ProcessRecord[]
  /** Exited processes still listed, oldest first (absent from an older program). */
  ended?: EndedRecord[]
  /** Managed processes, oldest first; their running runs are among `processes`. */
  managed?: ManagedRecord[]
  /** Running PTY sessions (absent from a program that had none to hand over). */
  ptys?: PtyRecord[]
  /** What the embedder handed over besides (`sandproc serve`: its listening socket, its token). */
  extra: unknown
}

/**
 * The state handed to this program, if it was started by a live upgrade: read from the
 * memfd, which is closed, and the variable removed (the children must not see it).
 * @throws Error when the variable is set but the state cannot be read or is of another version.
 */
export function takeHandoverState(env: NodeJS.ProcessEnv = process.env): HandoverState | null {
  const value = env[HANDOVER_ENV]
  if (value === undefined) return null
  delete env[HANDOVER_ENV]
  const fd = Number(value)
  if (!Number.isSafeInteger(fd) || fd < 0) throw new Error(`${HANDOVER_ENV}=${value} is not an fd`)
  let text: string
  try {
    text = fs.readFileSync(fd, 'utf8')
  } finally {
    fs.closeSync(fd)
  }
  const state = JSON.parse(text) as HandoverState
  if (!READABLE_VERSIONS.includes(state.version)) {
    throw new Error(
      `handover state version ${String(state.version)}, this program reads ${READABLE_VERSIONS.join(' and ')}`,
    )
  }
  return state
}
