/**
 * `npm run fuzz`: the fuzzing properties of fuzz/http.ts against a live server for a
 * while (default 10 minutes; `--minutes N` or FUZZ_MINUTES), in rounds with fresh seeds.
 * Prints each failure with its seed and counterexample, then the input counts; exits 1
 * if anything failed.
 */
import fc from 'fast-check'

import { httpProperty } from './http.js'
import { frameProperty, lastEventIdProperty, pathProperty } from './parsers.js'
import { catSession, ptyFrameProperty } from './pty.js'
import { fuzzServer } from './server.js'

const flag = process.argv.indexOf('--minutes')
const minutes = Number(flag === -1 ? (process.env.FUZZ_MINUTES ?? 10) : process.argv[flag + 1])
if (!(minutes > 0)) throw new TypeError('--minutes must be a positive number')
const deadline = Date.now() + minutes * 60_000

const counts = { http: 0, ptySocket: 0, frames: 0, lastEventId: 0, paths: 0 }
const failures: string[] = []
const t = await fuzzServer()
const session = await catSession(t)

/** One property's round: counts its inputs and records a failure. */
function record(
  name: keyof typeof counts,
  details: { failed: boolean; numRuns: number; seed: number; counterexample: unknown; errorInstance: unknown },
): void {
  counts[name] += details.numRuns
  if (!details.failed) return
  const line = `${name}: seed ${details.seed}, counterexample ${fc.stringify(details.counterexample)}: ${String(details.errorInstance)}`
  failures.push(line)
  process.stderr.write(`FAIL ${line}\n`)
}

try {
  for (let round = 0; Date.now() < deadline; round++) {
    const seed = (Date.now() ^ (round * 2654435761)) | 0
    record('http', await fc.check(httpProperty(t), { seed, numRuns: 200 }))
    t.errors.length = 0
    record('ptySocket', await fc.check(ptyFrameProperty(t, session), { seed, numRuns: 50 }))
    t.errors.length = 0
    record('frames', fc.check(frameProperty, { seed, numRuns: 2000 }))
    record('lastEventId', fc.check(lastEventIdProperty, { seed, numRuns: 2000 }))
    record('paths', fc.check(pathProperty, { seed, numRuns: 2000 }))
    if (round % 10 === 0) process.stderr.write(`fuzz: ${JSON.stringify(counts)}, ${failures.length} failure(s)\n`)
  }
} finally {
  await t.close()
}
const total = Object.values(counts).reduce((a, b) => a + b, 0)
process.stdout.write(`fuzz: ${minutes} min, ${total} inputs ${JSON.stringify(counts)}, ${failures.length} failure(s)\n`)
for (const f of failures) process.stdout.write(`  ${f}\n`)
process.exitCode = failures.length > 0 ? 1 : 0
