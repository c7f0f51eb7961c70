/**
 * Bearer-token authentication and the loopback rule for running without a token.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'

/**
 * Returns a checker of `Authorization` header values for `token`.
 *
 * Both sides are hashed first: `timingSafeEqual` needs equal lengths, and comparing
 * fixed-size digests keeps the token's length from leaking through an early return.
 */
export function bearerChecker(token: string): (header: string | undefined) => boolean {
  const expected = digest(token)
  return (header) => {
    if (header === undefined) return false
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
    if (match === null) return false
    return timingSafeEqual(digest(match[1]), expected)
  }
}

/**
 * True for addresses that only this machine can reach: 127.0.0.0/8, ::1 and their
 * IPv4-mapped forms, and `localhost`.
 */
export function isLoopback(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (bare === 'localhost') return true
  const v4 = bare.toLowerCase().startsWith('::ffff:') ? bare.slice(7) : bare
  if (isIP(v4) === 4) return v4.startsWith('127.')
  return isIP(bare) === 6 && /^(0{0,4}:){1,7}0{0,3}1$|^::1$/.test(bare)
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
