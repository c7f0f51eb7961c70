/**
 * The `memory_limit` request field (docs/protocol.md "Requests"): bytes as a number,
 * or a string with a binary unit. Every unit is binary (`"1G"`, `"1GB"` and `"1GiB"`
 * all mean 2^30) because that is what the kernel's own `memory.max` syntax and
 * `docker --memory` mean by them.
 */
import { invalid } from '../errors.js'

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }

/** Digits (a fraction allowed), an optional unit letter, an optional `i` and `B`. */
const PATTERN = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i

const bad = (detail: string): TypeError => invalid('memory_limit', detail)

/**
 * Parses a memory limit to bytes: a positive safe integer, or a string such as `"512k"`,
 * `"256M"`, `"1.5G"`, `"1GiB"`. Fractions are rounded down to whole bytes.
 *
 * @throws TypeError with `code: 'INVALID_REQUEST'` and a message naming `memory_limit`.
 */
export function parseMemoryLimit(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value <= 0) throw bad('must be a positive integer of bytes')
    return value
  }
  if (typeof value !== 'string') throw bad('must be a number of bytes or a string such as "256M"')
  const m = PATTERN.exec(value.trim())
  if (m === null) throw bad(`must look like 1048576, "512k", "256M" or "1G"; got ${JSON.stringify(value)}`)
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()])
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw bad(`is out of range: ${JSON.stringify(value)}`)
  return bytes
}
