/**
 * What joining the per-process cgroup costs, alone: sandproc's `/bin/true` start→exit
 * back to back and after 50 ms of idleness, with cgroups and without, interleaved.
 * Prints one JSON line. For the v2 paths run it in the VM, once as is (clone3 with
 * CLONE_INTO_CGROUP) and once under bench/c/no_clone3.c (the cgroup.procs fallback):
 *
 *   ../shared/tools/cgroup2-vm "$PWD" node --import tsx bench/spawn/cgroup-join.ts
 *   ../shared/tools/cgroup2-vm "$PWD" bench/.build/no_clone3 node --import tsx bench/spawn/cgroup-join.ts
 *
 * (`npm run bench` builds bench/.build/no_clone3.) Usage: tsx bench/spawn/cgroup-join.ts [--quick]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { Supervisor } from '../../src/index.js'
import { interleave, summarize } from '../lib/stats.js'

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } })
const quick = values.quick === true

const withCg = new Supervisor()
const noCg = new Supervisor({ cgroup: false })
const run = (sup: Supervisor) => async (): Promise<void> => {
  const e = await sup.run({ command: '/bin/true' }).exited
  if (e.exit_code !== 0) throw new Error(`/bin/true: ${JSON.stringify(e)}`)
}
const contenders = [
  { name: 'cgroup', op: run(withCg) },
  { name: 'no_cgroup', op: run(noCg) },
]
try {
  const back = await interleave(contenders, {
    warmup: 20,
    rounds: quick ? 100 : 400,
    budgetMs: quick ? 5_000 : 20_000,
    minRounds: 20,
  })
  const idle = await interleave(contenders, {
    warmup: 2,
    rounds: quick ? 20 : 60,
    budgetMs: quick ? 5_000 : 20_000,
    minRounds: 10,
    idleMs: 50,
  })
  const seccomp = /^Seccomp:\s+(\d)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '?'
  const round = (s: ReturnType<typeof summarize>) => ({
    n: s.n,
    median: +s.median.toFixed(3),
    p90: +s.p90.toFixed(3),
    max: +s.max.toFixed(3),
  })
  const out = {
    cgroup: withCg.capabilities.cgroup,
    // 2: a seccomp filter is on (bench/c/no_clone3 refuses clone3, so v2 takes the fallback).
    seccompFilter: seccomp === '2',
    backToBack: { cgroup: round(summarize(back.cgroup)), no_cgroup: round(summarize(back.no_cgroup)) },
    idle50ms: { cgroup: round(summarize(idle.cgroup)), no_cgroup: round(summarize(idle.no_cgroup)) },
  }
  process.stdout.write(JSON.stringify(out) + '\n')
} finally {
  await Promise.all([withCg.close(), noCg.close()])
}
