import { describe, expect, it } from 'vitest'

import { backoffDelay, resetsBackoff } from '../../src/managed/backoff.js'

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap', () => {
    const r = { initial_backoff_ms: 500, max_backoff_ms: 30000 }
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((k) => backoffDelay(k, r))).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ])
  })

  it('stays at the cap and at 0 for any k, without overflowing to NaN', () => {
    expect(backoffDelay(5000, { initial_backoff_ms: 1, max_backoff_ms: 7 })).toBe(7)
    expect(backoffDelay(5000, { initial_backoff_ms: 0, max_backoff_ms: 7 })).toBe(0)
  })

  it('refuses k below 1', () => {
    expect(() => backoffDelay(0, { initial_backoff_ms: 1, max_backoff_ms: 1 })).toThrow(RangeError)
  })
})

describe('resetsBackoff', () => {
  it('resets after a run of at least max_backoff_ms', () => {
    expect(resetsBackoff(999, { max_backoff_ms: 1000 })).toBe(false)
    expect(resetsBackoff(1000, { max_backoff_ms: 1000 })).toBe(true)
  })
})
