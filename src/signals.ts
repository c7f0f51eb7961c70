/** Signal names and numbers as the library's API takes them. */
import { constants as os } from 'node:os'

/** Signal name or number (1..64) to a number; throws a TypeError (code INVALID_REQUEST) naming `signal`. */
export function signalNumber(sig: NodeJS.Signals | number): number {
  const n = typeof sig === 'number' ? sig : (os.signals as Record<string, number | undefined>)[sig]
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > 64) {
    throw Object.assign(new TypeError(`signal ${String(sig)} is not a valid signal`), { code: 'INVALID_REQUEST' })
  }
  return n
}
