/** Signal names and numbers as the library's API takes them. */
import { constants as os } from 'node:os'

import { invalid } from '../errors.js'

/** Signal name or number (1..64) to a number; throws a TypeError (code INVALID_REQUEST) naming `signal`. */
export function signalNumber(sig: NodeJS.Signals | number): number {
  const n = typeof sig === 'number' ? sig : (os.signals as Record<string, number | undefined>)[sig]
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > 64) {
    throw invalid('signal', `${String(sig)} is not a valid signal`)
  }
  return n
}
