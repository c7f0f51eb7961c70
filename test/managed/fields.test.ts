import { describe, expect, it } from 'vitest'

import { isManagedRequest, managedSpec, validName } from '../../src/managed/fields.js'
import { expectInvalid, thrown } from '../helpers/invalid.js'

describe('isManagedRequest', () => {
  it('is true with any of name, restart, health_check and false without (or with nulls)', () => {
    expect(isManagedRequest({ command: 'x', name: 'a' })).toBe(true)
    expect(isManagedRequest({ command: 'x', restart: {} })).toBe(true)
    expect(isManagedRequest({ command: 'x', health_check: { type: 'tcp', port: 1 } })).toBe(true)
    expect(isManagedRequest({ command: 'x' })).toBe(false)
    expect(isManagedRequest({ command: 'x', name: null, restart: null, health_check: null })).toBe(false)
  })
})

describe('managedSpec', () => {
  it('fills in every default when only name is given', () => {
    expect(managedSpec({ name: 'web' })).toEqual({
      name: 'web',
      restart: { policy: 'on_failure', max_restarts: null, initial_backoff_ms: 500, max_backoff_ms: 30000 },
      healthCheck: null,
    })
  })

  it('fills in the health check defaults and takes max_backoff_ms from a larger initial delay', () => {
    const spec = managedSpec({ restart: { initial_backoff_ms: 60000 }, health_check: { type: 'http', port: 8080 } })
    expect(spec.restart.max_backoff_ms).toBe(60000)
    expect(spec.healthCheck).toEqual({
      type: 'http',
      port: 8080,
      path: '/',
      initial_delay_ms: 5000,
      interval_ms: 1000,
      timeout_ms: 500,
      failure_threshold: 3,
    })
  })

  const bad: Array<[string, Record<string, unknown>]> = [
    ['restart', { restart: 'always' }],
    ['restart.policy', { restart: { policy: 'sometimes' } }],
    ['restart.max_restarts', { restart: { max_restarts: -1 } }],
    ['restart.max_restarts', { restart: { max_restarts: 1.5 } }],
    ['restart.initial_backoff_ms', { restart: { initial_backoff_ms: -1 } }],
    ['restart.initial_backoff_ms', { restart: { initial_backoff_ms: '5' } }],
    ['restart.max_backoff_ms', { restart: { initial_backoff_ms: 100, max_backoff_ms: 50 } }],
    ['restart.max_backoff_ms', { restart: { max_backoff_ms: 2 ** 31 } }],
    ['health_check', { health_check: [] }],
    ['health_check.type', { health_check: { port: 80 } }],
    ['health_check.type', { health_check: { type: 'grpc', port: 80 } }],
    ['health_check.port', { health_check: { type: 'tcp' } }],
    ['health_check.port', { health_check: { type: 'tcp', port: 0 } }],
    ['health_check.port', { health_check: { type: 'tcp', port: 65536 } }],
    ['health_check.path', { health_check: { type: 'http', port: 80, path: 'health' } }],
    ['health_check.path', { health_check: { type: 'http', port: 80, path: '/a b' } }],
    ['health_check.initial_delay_ms', { health_check: { type: 'tcp', port: 80, initial_delay_ms: -1 } }],
    ['health_check.interval_ms', { health_check: { type: 'tcp', port: 80, interval_ms: 0 } }],
    ['health_check.timeout_ms', { health_check: { type: 'tcp', port: 80, timeout_ms: 0 } }],
    ['health_check.failure_threshold', { health_check: { type: 'tcp', port: 80, failure_threshold: 0 } }],
  ]
  for (const [field, req] of bad) {
    it(`refuses ${JSON.stringify(req)} naming ${field}`, () =>
      expectInvalid(
        thrown(() => managedSpec(req)),
        field,
      ))
  }
})

describe('validName', () => {
  const badNames: Array<[string, unknown]> = [
    ['empty', ''],
    ['all digits', '123'],
    ['a slash', 'a/b'],
    ['NUL', 'a\0b'],
    ['a newline', 'a\nb'],
    ['DEL', 'a\x7fb'],
    ['a C1 control', 'a\u0085b'],
    ['256 bytes', 'x'.repeat(256)],
    ['256 bytes of two-byte characters', 'é'.repeat(128)],
    ['not a string', 42],
    ['reserved', 'run'],
  ]
  for (const [what, name] of badNames) {
    it(`refuses ${what}`, () =>
      expectInvalid(
        thrown(() => validName(name)),
        'name',
      ))
  }

  it('takes 255 bytes, digits with letters, dots and spaces', () => {
    for (const name of ['x'.repeat(255), '123a', 'web.v2', 'my app', 'é'.repeat(127)])
      expect(validName(name)).toBe(name)
  })
})
