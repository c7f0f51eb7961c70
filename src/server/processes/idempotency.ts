/**
 * `Idempotency-Key` on `POST /processes` (docs/endings.md): a client that retries a start
 * (the Tensorlake SDKs retry on 502/503/504) never starts the program twice. A key is
 * remembered for 10 minutes from its first request, including while that one is still
 * starting; a repeat with the same body gets the first one's outcome, another body a 409.
 */
import { HttpError } from '../http/errors.js'
import type { ProcessInfo } from '../../types.js'

/** How long a key is remembered (from its first request). */
export const IDEMPOTENCY_TTL_MS = 10 * 60 * 1000
/** Keys remembered at once; past it the oldest go first (a flood of keys stays bounded). */
export const IDEMPOTENCY_MAX_KEYS = 10_000

/** What the first request with a key answered: the process (read at answer time) or its error. */
export type FirstOutcome = { info: () => ProcessInfo } | { error: unknown }

interface Entry {
  body: string
  expires: number
  outcome: Promise<FirstOutcome>
}

/**
 * The `Idempotency-Key` header: 1–255 visible ASCII characters, or none.
 *
 * @throws HttpError 400 `INVALID_REQUEST` naming the header.
 */
export function idempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined
  const key = Array.isArray(header) ? header[0] : header
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new HttpError('INVALID_REQUEST', 'Idempotency-Key must be 1 to 255 visible ASCII characters')
  }
  return key
}

export class IdempotencyKeys {
  readonly #entries = new Map<string, Entry>()

  /**
   * The first request with `key` runs `start`; a repeat gets the first's outcome. Must be
   * called in the same tick as the body was read: the lookup and the insert are one step,
   * so concurrent repeats cannot both start.
   *
   * @throws HttpError 409 `IDEMPOTENCY_CONFLICT` when the body differs from the first's.
   */
  begin(
    key: string,
    body: string,
    start: () => Promise<FirstOutcome>,
  ): { first: boolean; outcome: Promise<FirstOutcome> } {
    const now = Date.now()
    this.#expire(now)
    const known = this.#entries.get(key)
    if (known !== undefined) {
      if (known.body !== body) {
        throw new HttpError('IDEMPOTENCY_CONFLICT', 'Idempotency-Key was already used with a different request body')
      }
      return { first: false, outcome: known.outcome }
    }
    const outcome = start()
    const entry: Entry = { body, expires: now + IDEMPOTENCY_TTL_MS, outcome }
    this.#entries.set(key, entry)
    if (this.#entries.size > IDEMPOTENCY_MAX_KEYS) this.#entries.delete(this.#entries.keys().next().value as string)
    // A start that failed started nothing: a later retry may try again.
    void outcome.then((o) => {
      if ('error' in o && this.#entries.get(key) === entry) this.#entries.delete(key)
    })
    return { first: true, outcome }
  }

  // Entries are in insertion order, so expiry order too: only the front needs a look.
  #expire(now: number): void {
    for (const [key, e] of this.#entries) {
      if (e.expires > now) break
      this.#entries.delete(key)
    }
  }
}
