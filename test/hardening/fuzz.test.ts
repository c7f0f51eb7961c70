/**
 * The short fuzzing pass (docs/hardening.md): fixed seeds, a few hundred inputs, seconds.
 * `npm run fuzz` runs the same properties for ten minutes with fresh seeds.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, it } from 'vitest'

import { httpProperty } from '../../fuzz/http.js'
import { frameProperty, lastEventIdProperty, pathProperty } from '../../fuzz/parsers.js'
import { catSession, ptyFrameProperty } from '../../fuzz/pty.js'
import { fuzzServer, type FuzzServer } from '../../fuzz/server.js'

let t: FuzzServer

beforeAll(async () => {
  t = await fuzzServer()
})
afterAll(async () => {
  await t.close()
})

describe('fuzzing, seeded', () => {
  it('HTTP requests: a valid answer or a JSON 4xx, no internal error, the server still serves', async () => {
    await fc.assert(httpProperty(t), { seed: 19, numRuns: 300 })
  })

  it('the PTY frame decoder', () => {
    fc.assert(frameProperty, { seed: 19, numRuns: 5000 })
  })

  it('frames on a live PTY socket: a 1008/1009 close or an echo, the session alive', async () => {
    await fc.assert(ptyFrameProperty(t, await catSession(t)), { seed: 19, numRuns: 100 })
  })

  it('Last-Event-ID parsing', () => {
    fc.assert(lastEventIdProperty, { seed: 19, numRuns: 5000 })
  })

  it('path and query parsing', () => {
    fc.assert(pathProperty, { seed: 19, numRuns: 5000 })
  })
})
