/** Shared by the tests of request validation (core and managed fields). */
import { expect } from 'vitest'

/** The error `fn` throws (fails when it does not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected a throw')
}

/**
 * A bad field must be a TypeError with code INVALID_REQUEST whose message names the
 * field (docs/protocol.md "Requests"): the message is matched only for the field's
 * name, never its wording.
 */
export function expectInvalid(err: unknown, field: string): void {
  expect(err).toBeInstanceOf(TypeError)
  expect(err).toMatchObject({ code: 'INVALID_REQUEST' })
  expect((err as Error).message).toContain(field)
}
