/**
 * What every contender (sandproc, child_process, execa) must do in the bench, so that the
 * workloads are written once and differ only in the library under test. Each method asks
 * for the same work from all three: stdin closed, stdout and stderr piped and consumed.
 */
import { execFileSync } from 'node:child_process'

export type RunnerName = 'sandproc' | 'child_process' | 'execa'
export const PEERS = ['child_process', 'execa'] as const
export type PeerName = (typeof PEERS)[number]

/** The per-line event every contender produces, shaped like sandproc's `OutputEvent`. */
export interface LineEvent {
  line: string
  timestamp: number
  stream: 'stdout' | 'stderr'
}

export interface LineTally {
  lines: number
  /** Characters plus one per newline: equal to bytes for the ASCII inputs used here. */
  bytes: number
  lastTimestamp: number
}

export interface LaunchHooks {
  onStart: () => void
  onExit: () => void
  onError: (err: Error) => void
}

export interface Runner {
  readonly name: RunnerName
  /** Start, wait for exit status 0 and both pipes closed. */
  run(command: string, args: readonly string[]): Promise<void>
  /** Like `run`, consuming the output as one `LineEvent` per line. */
  lines(command: string, args: readonly string[]): Promise<LineTally>
  /** Start without waiting (bursts). Returns a function that SIGKILLs the process. */
  launch(command: string, args: readonly string[], hooks: LaunchHooks): () => void
  close(): Promise<void>
}

/** Counts events the same way for every contender, so none can skip building them. */
export class Tally implements LineTally {
  lines = 0
  bytes = 0
  lastTimestamp = 0
  add(ev: LineEvent): void {
    this.lines++
    this.bytes += ev.line.length + 1
    this.lastTimestamp = ev.timestamp
  }
}

export function exitError(name: string, command: string, how: string): Error {
  return new Error(`${name}: ${command} ended with ${how}`)
}

/**
 * Absolute path of a program. Every contender gets the same absolute path, so PATH
 * lookup (done differently by each library) is not part of what is measured.
 */
export function which(program: string): string {
  return execFileSync('sh', ['-c', 'command -v "$1"', 'sh', program]).toString().trim()
}
