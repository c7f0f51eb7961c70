import { describe, expect, it } from 'vitest'

import { reasonOf } from '../../src/core/reason.js'

describe('reasonOf', () => {
  it('derives the reason from the fields of an exit event', () => {
    expect(reasonOf({ exit_code: 0 })).toBe('exited')
    expect(reasonOf({ exit_code: 137 })).toBe('exited')
    expect(reasonOf({ signal: 15 })).toBe('signaled')
    expect(reasonOf({ signal: 9, oom_killed: true, oom_kills: 1 })).toBe('oom_killed')
    expect(reasonOf({ signal: 9, timed_out: true })).toBe('timed_out')
  })

  it("takes the exit event's own reason where it has one", () => {
    expect(reasonOf({ signal: 9, reason: 'killed' })).toBe('killed')
    expect(reasonOf({ signal: 9, reason: 'idle_timeout' })).toBe('idle_timeout')
  })
})
