import { afterAll, describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/supervisor.js'
import type { StartRequest } from '../../src/types.js'
import { normalize } from '../../src/core/validate.js'
import { expectInvalid, thrown } from '../helpers/invalid.js'

const ok = { command: 'true' }

// [field named in the error, bad request]
const bad: Array<[string, unknown]> = [
  ['request', null],
  ['request', 'true'],
  ['request', ['true']],
  ['request', 42],
  ['command', {}],
  ['command', { command: 42 }],
  ['command', { command: null }],
  ['command', { command: ['sh'] }],
  ['command', { command: '' }],
  ['command', { command: 'sh\0' }],
  ['args', { ...ok, args: 'a b' }],
  ['args', { ...ok, args: { 0: 'a' } }],
  ['args[0]', { ...ok, args: [1] }],
  ['args[1]', { ...ok, args: ['a', null] }],
  ['args[0]', { ...ok, args: ['a\0b'] }],
  // Holes of a sparse array: a hole that reached the addon aborted the whole process.
  // eslint-disable-next-line no-sparse-arrays
  ['args[0]', { ...ok, args: [, 'a'] }],
  ['args[0]', { ...ok, args: new Array<string>(3) }],
  ['env', { ...ok, env: 'A=1' }],
  ['env', { ...ok, env: ['A=1'] }],
  ['env', { ...ok, env: 7 }],
  ['env', { ...ok, env: { '': 'x' } }],
  ['env', { ...ok, env: { 'A=B': 'x' } }],
  ['env', { ...ok, env: { 'A\0': 'x' } }],
  ['env.A', { ...ok, env: { A: 1 } }],
  ['env.A', { ...ok, env: { A: null } }],
  ['env.A', { ...ok, env: { A: 'x\0y' } }],
  ['working_dir', { ...ok, working_dir: 5 }],
  ['working_dir', { ...ok, working_dir: '' }],
  ['working_dir', { ...ok, working_dir: '/tmp\0' }],
  ['working_dir', { ...ok, working_dir: ['/tmp'] }],
  ['timeout', { ...ok, timeout: '5' }],
  ['timeout', { ...ok, timeout: true }],
  ['timeout', { ...ok, timeout: -1 }],
  ['timeout', { ...ok, timeout: -0.5 }],
  ['timeout', { ...ok, timeout: 0 }],
  ['timeout', { ...ok, timeout: Number.NaN }],
  ['timeout', { ...ok, timeout: Number.POSITIVE_INFINITY }],
  ['timeout', { ...ok, timeout: Number.NEGATIVE_INFINITY }],
  // Past 2^31-1 ms setTimeout fires at once: refused rather than turned into "now".
  ['timeout', { ...ok, timeout: 2 ** 31 }],
  ['timeout', { ...ok, timeout: 1e300 }],
  ['user', { ...ok, user: 1000 }],
  ['user', { ...ok, user: true }],
  ['user', { ...ok, user: ['nobody'] }],
  ['user', { ...ok, user: '' }],
  ['user', { ...ok, user: 'no body' }],
  ['user', { ...ok, user: 'nobody\0' }],
  ['user', { ...ok, user: '1000:' }],
  ['user', { ...ok, user: ':1000' }],
  ['user', { ...ok, user: '1000:1000:1000' }],
  ['user', { ...ok, user: '-1' }],
  ['user', { ...ok, user: 'a:b' }],
  ['user', { ...ok, user: '1e3' }],
  // (uid_t)-1 means "unchanged" to setresuid: the child would keep root.
  ['user', { ...ok, user: '4294967295' }],
  ['user', { ...ok, user: '0:4294967295' }],
  ['user', { ...ok, user: '4294967296' }],
  ['user', { ...ok, user: '99999999999999999999' }],
  ['user', { ...ok, user: {} }],
  ['user', { ...ok, user: { gid: 1000 } }],
  ['user', { ...ok, user: { name: 'nobody', uid: 65534 } }],
  ['user.uid', { ...ok, user: { uid: -1 } }],
  ['user.uid', { ...ok, user: { uid: 1.5 } }],
  ['user.uid', { ...ok, user: { uid: '1000' } }],
  ['user.uid', { ...ok, user: { uid: Number.NaN } }],
  ['user.uid', { ...ok, user: { uid: 2 ** 32 - 1 } }],
  ['user.uid', { ...ok, user: { uid: null } }],
  ['user.gid', { ...ok, user: { uid: 1000, gid: -1 } }],
  ['user.gid', { ...ok, user: { uid: 1000, gid: '1000' } }],
  ['user.gid', { ...ok, user: { uid: 1000, gid: 2 ** 32 - 1 } }],
  ['user.name', { ...ok, user: { name: 5 } }],
  ['user', { ...ok, user: { name: '' } }],
  ['user', { ...ok, user: { name: 'x y' } }],
  ['user.name', { ...ok, user: { name: 'x\0' } }],
  ['memory_limit', { ...ok, memory_limit: 'lots' }],
  ['memory_limit', { ...ok, memory_limit: -1 }],
  ['memory_limit', { ...ok, memory_limit: 0 }],
  ['memory_limit', { ...ok, memory_limit: 1.5 }],
  ['memory_limit', { ...ok, memory_limit: {} }],
]

// Only `start` has stdio modes.
const badStart: Array<[string, unknown]> = [
  ['stdin_mode', { ...ok, stdin_mode: 'open' }],
  ['stdin_mode', { ...ok, stdin_mode: 'capture' }],
  ['stdin_mode', { ...ok, stdin_mode: 1 }],
  ['stdout_mode', { ...ok, stdout_mode: 'pipe' }],
  ['stdout_mode', { ...ok, stdout_mode: 'closed' }],
  ['stdout_mode', { ...ok, stdout_mode: true }],
  ['stderr_mode', { ...ok, stderr_mode: 'merge' }],
  ['stderr_mode', { ...ok, stderr_mode: '' }],
]

const label = (req: unknown): string =>
  JSON.stringify(req, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))

describe('normalize rejects every bad field', () => {
  it.each(bad)('%s: %j', (field, req) => {
    expectInvalid(
      thrown(() => normalize(req, 'run')),
      field,
    )
    expectInvalid(
      thrown(() => normalize(req, 'start')),
      field,
    )
  })

  it.each(badStart)('%s (start): %j', (field, req) => {
    expectInvalid(
      thrown(() => normalize(req, 'start')),
      field,
    )
  })
})

describe('Supervisor.run/start throw the same TypeError synchronously, before spawning', () => {
  const sup = new Supervisor()
  afterAll(() => sup.close())

  it.each(bad.map(([field, req]) => [field, label(req), req] as const))('%s: %s', (field, _label, req) => {
    const total = sup.total
    expectInvalid(
      thrown(() => sup.run(req as StartRequest)),
      field,
    )
    expectInvalid(
      thrown(() => sup.start(req as StartRequest)),
      field,
    )
    expect(sup.total).toBe(total)
  })

  it.each(badStart)('%s (start)', (field, req) => {
    expectInvalid(
      thrown(() => sup.start(req as StartRequest)),
      field,
    )
  })
})

describe('normalize accepts good requests', () => {
  it('fills the defaults', () => {
    expect(normalize({ command: 'ls' }, 'start')).toEqual({
      command: 'ls',
      args: [],
      env: {},
      workingDir: undefined,
      user: undefined,
      timeoutMs: undefined,
      timeoutGraceMs: 0,
      idleTimeoutMs: undefined,
      encoding: 'utf8',
      maxOutputBytes: undefined,
      memoryLimit: undefined,
      stdin: 'closed',
      stdout: 'capture',
      stderr: 'capture',
    })
  })

  it('treats null like absent and ignores unknown top-level fields', () => {
    const n = normalize(
      {
        command: 'ls',
        args: null,
        env: null,
        working_dir: null,
        user: null,
        timeout: null,
        memory_limit: null,
        sandbox_id: 'x',
        extra: { a: 1 },
      },
      'start',
    )
    expect(n).toMatchObject({
      command: 'ls',
      args: [],
      env: {},
      workingDir: undefined,
      user: undefined,
      timeoutMs: undefined,
    })
  })

  it('takes timeouts in seconds with fractions, rounded to at least 1 ms', () => {
    expect(normalize({ command: 'ls', timeout: 30 }, 'run').timeoutMs).toBe(30_000)
    expect(normalize({ command: 'ls', timeout: 0.25 }, 'run').timeoutMs).toBe(250)
    expect(normalize({ command: 'ls', timeout: 1e-9 }, 'run').timeoutMs).toBe(1)
    expect(normalize({ command: 'ls', timeout: 2_147_483 }, 'run').timeoutMs).toBe(2_147_483_000)
  })

  it('accepts every user form', () => {
    for (const user of [
      'nobody',
      'www-data',
      '_apt',
      'machine$',
      '65534',
      '1000:1000',
      '0',
      '4294967294',
      '4294967294:4294967294',
    ]) {
      expect(normalize({ command: 'ls', user }, 'run').user).toBe(user)
    }
    expect(normalize({ command: 'ls', user: { uid: 1000, gid: 1000 } }, 'run').user).toEqual({ uid: 1000, gid: 1000 })
    expect(normalize({ command: 'ls', user: { uid: 1000 } }, 'run').user).toEqual({ uid: 1000 })
    expect(normalize({ command: 'ls', user: { name: 'nobody' } }, 'run').user).toEqual({ name: 'nobody' })
  })

  it('keeps args, env and working_dir as given, empty strings included', () => {
    const n = normalize(
      { command: 'ls', args: ['', '-l', 'a b'], env: { A: '', B: 'x=y' }, working_dir: '/tmp' },
      'run',
    )
    expect(n).toMatchObject({ args: ['', '-l', 'a b'], env: { A: '', B: 'x=y' }, workingDir: '/tmp' })
  })

  it('run ignores stdio modes: stdin closed, both streams captured', () => {
    const n = normalize({ command: 'ls', stdin_mode: 'pipe', stdout_mode: 'discard', stderr_mode: 'bogus' }, 'run')
    expect(n).toMatchObject({ stdin: 'closed', stdout: 'capture', stderr: 'capture' })
  })

  it('start takes the stdio modes', () => {
    const n = normalize({ command: 'ls', stdin_mode: 'pipe', stdout_mode: 'discard', stderr_mode: 'discard' }, 'start')
    expect(n).toMatchObject({ stdin: 'pipe', stdout: 'discard', stderr: 'discard' })
  })
})
