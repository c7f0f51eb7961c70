import { describe, expect, it } from 'vitest'

import { nextStep } from '../../src/managed/policy.js'

const r = (over = {}) => ({
  policy: 'on_failure' as const,
  max_restarts: null,
  initial_backoff_ms: 100,
  max_backoff_ms: 1000,
  ...over,
})
const fresh = { consecutive: 0, automatic: 0 }

describe('nextStep', () => {
  it('on_failure: stops after a success (no error), restarts after a failure', () => {
    expect(nextStep(false, 5, fresh, r())).toEqual({ action: 'stop', error: null })
    expect(nextStep(true, 5, fresh, r())).toEqual({ action: 'restart', attempt: 1, delayMs: 100 })
  })

  it('always restarts after a success; never stops after a failure, saying so', () => {
    expect(nextStep(false, 5, fresh, r({ policy: 'always' }))).toMatchObject({ action: 'restart' })
    const never = nextStep(true, 5, fresh, r({ policy: 'never' }))
    expect(never.action).toBe('stop')
    expect(never).toMatchObject({ error: expect.stringContaining('never') })
  })

  it('doubles with k and resets k after a run of max_backoff_ms', () => {
    expect(nextStep(true, 5, { consecutive: 3, automatic: 3 }, r())).toEqual({
      action: 'restart',
      attempt: 4,
      delayMs: 800,
    })
    expect(nextStep(true, 5, { consecutive: 4, automatic: 4 }, r())).toEqual({
      action: 'restart',
      attempt: 5,
      delayMs: 1000,
    })
    expect(nextStep(true, 1000, { consecutive: 4, automatic: 4 }, r())).toEqual({
      action: 'restart',
      attempt: 1,
      delayMs: 100,
    })
  })

  it('max_restarts stops with last_error once that many automatic restarts were made', () => {
    expect(nextStep(true, 5, { consecutive: 1, automatic: 1 }, r({ max_restarts: 2 }))).toMatchObject({
      action: 'restart',
    })
    expect(nextStep(true, 5, { consecutive: 2, automatic: 2 }, r({ max_restarts: 2 }))).toEqual({
      action: 'stop',
      error: 'max_restarts (2) reached',
    })
    expect(nextStep(true, 5, fresh, r({ max_restarts: 0 }))).toEqual({
      action: 'stop',
      error: 'max_restarts (0) reached',
    })
  })
})
