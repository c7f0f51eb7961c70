// The OOM decision rule as a table (docs/protocol.md "OOM"). The same rule is
// exercised end to end on real cgroups in oom.test.ts; this pins every combination,
// including those no kernel produces on demand (a lost status, a counter that cannot
// be read).
import { describe, expect, it } from 'vitest'

import { exitEvent, type Reaped } from '../../src/core/exit.js'

const base: Reaped = { code: null, signal: 9, userUs: 1500, sysUs: 500, wallMs: 12.5, oomKills: 1, peak: 4096 }
const none = { killedBySupervisor: false, ending: null }
const timedOut = { killedBySupervisor: true, ending: { reason: 'timed_out' as const } }

describe('exitEvent', () => {
  it('SIGKILL + counter rose + not ours = oom_killed', () => {
    expect(exitEvent(base, none)).toEqual({
      signal: 9,
      reason: 'oom_killed',
      oom_killed: true,
      oom_kills: 1,
      usage: { wall_ms: 12.5, user_cpu_ms: 1.5, system_cpu_ms: 0.5, memory_peak_bytes: 4096 },
    })
  })

  it.each([
    ['sandproc sent the SIGKILL', base, { killedBySupervisor: true, ending: null }],
    ['the timeout fired', base, timedOut],
    ['a timeout SIGTERM preceded it', base, { killedBySupervisor: false, ending: { reason: 'timed_out' as const } }],
    ['the counter did not rise', { ...base, oomKills: 0 }, none],
    ['no counter to read', { ...base, oomKills: null }, none],
    ['another signal', { ...base, signal: 15 }, none],
    ['an exit code (137 included)', { ...base, code: 137, signal: null }, none],
    ['the status was lost', { ...base, signal: null }, none],
  ])('is never claimed when %s', (_why, r, done) => {
    expect(exitEvent(r, done).oom_killed).toBeUndefined()
  })

  it('has exactly one of exit_code and signal', () => {
    expect(exitEvent({ ...base, code: 0, signal: null, oomKills: 2 }, none)).toMatchObject({
      exit_code: 0,
      oom_kills: 2,
    })
    expect(exitEvent({ ...base, code: 0, signal: null }, none).signal).toBeUndefined()
    expect(exitEvent({ ...base, signal: 15 }, none).exit_code).toBeUndefined()
  })

  it('reports timed_out, and omits oom_kills without a counter', () => {
    const e = exitEvent({ ...base, oomKills: null, peak: null }, timedOut)
    expect(e).toMatchObject({ signal: 9, timed_out: true, usage: { memory_peak_bytes: null } })
    expect('oom_kills' in e).toBe(false)
  })
})

describe('reason', () => {
  const exited = { ...base, code: 0, signal: null }
  it.each([
    ['an exit code', exited, none, { reason: 'exited' }],
    ['a signal from outside', { ...base, signal: 15 }, none, { reason: 'signaled' }],
    ['an OOM kill', base, none, { reason: 'oom_killed', oom_killed: true }],
    [
      'a timeout, whatever ended it',
      exited,
      { killedBySupervisor: false, ending: { reason: 'timed_out' as const } },
      { reason: 'timed_out', timed_out: true },
    ],
    [
      'an idle timeout',
      base,
      { killedBySupervisor: true, ending: { reason: 'idle_timeout' as const } },
      { reason: 'idle_timeout' },
    ],
    [
      'a kill of the tree, over an OOM counter',
      base,
      { killedBySupervisor: true, ending: { reason: 'killed' as const, killedBy: 'client_gone' as const } },
      { reason: 'killed', killed_by: 'client_gone' },
    ],
    [
      'kill(sig) that ended it',
      { ...base, signal: 10 },
      { killedBySupervisor: false, ending: { reason: 'killed' as const, killedBy: 'api' as const, onlyIfSignal: 10 } },
      { reason: 'killed', killed_by: 'api' },
    ],
    [
      'kill(sig) it survived',
      exited,
      { killedBySupervisor: false, ending: { reason: 'killed' as const, killedBy: 'api' as const, onlyIfSignal: 10 } },
      { reason: 'exited' },
    ],
    [
      'kill(sig) it survived, then the OOM killer',
      base,
      { killedBySupervisor: false, ending: { reason: 'killed' as const, killedBy: 'api' as const, onlyIfSignal: 10 } },
      { reason: 'oom_killed', oom_killed: true },
    ],
  ])('%s', (_why, r, done, expected) => {
    const e = exitEvent(r, done)
    expect(e).toMatchObject(expected)
    // Never contradicts the Tensorlake flags.
    expect(e.oom_killed === true).toBe(e.reason === 'oom_killed')
    expect(e.timed_out === true).toBe(e.reason === 'timed_out')
    expect(e.killed_by !== undefined).toBe(e.reason === 'killed')
  })
})
