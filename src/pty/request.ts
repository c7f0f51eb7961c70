/**
 * A PTY session request (docs/protocol.md "PTY sessions"): the fields of "Requests"
 * that make sense for a terminal, plus the window size. Validation throws a TypeError
 * with code INVALID_REQUEST naming the field.
 */
import { invalid } from '../errors.js'
import { normalize, type Normalized } from '../core/validate.js'
import type { RunRequest } from '../types.js'

/**
 * What `sup.pty()` takes: the request fields (docs/protocol.md "Requests") without
 * `timeout`, plus the window size.
 */
export interface PtyRequest extends Omit<RunRequest, 'timeout'> {
  /** Terminal rows, 1–500 (default 24). */
  rows?: number
  /** Terminal columns, 1–1000 (default 80). */
  cols?: number
}

export interface NormalizedPty {
  req: Normalized
  rows: number
  cols: number
}

export const DEFAULT_ROWS = 24
export const DEFAULT_COLS = 80
const MAX_ROWS = 500
const MAX_COLS = 1000

/** A window dimension: an integer from 1 to `max`. */
export function dimension(v: unknown, field: string, max: number, fallback?: number): number {
  if ((v === undefined || v === null) && fallback !== undefined) return fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max)
    throw invalid(field, `must be an integer from 1 to ${max}`)
  return v
}

export function rowsOf(v: unknown, fallback?: number): number {
  return dimension(v, 'rows', MAX_ROWS, fallback)
}

export function colsOf(v: unknown, fallback?: number): number {
  return dimension(v, 'cols', MAX_COLS, fallback)
}

/** Validates a request; TERM defaults to xterm-256color unless the request sets it. */
export function normalizePty(raw: unknown): NormalizedPty {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('request', 'must be an object')
  const r = raw as Record<string, unknown>
  // A terminal session lives until it ends or is deleted: a timeout is not part of a
  // PTY session (docs/pty.md).
  const req = normalize({ ...r, timeout: undefined }, 'run')
  req.env = { TERM: 'xterm-256color', ...req.env }
  return { req, rows: rowsOf(r.rows, DEFAULT_ROWS), cols: colsOf(r.cols, DEFAULT_COLS) }
}
