/**
 * Workload 1: sequential start→exit of /bin/true and of the static no-op, every
 * contender interleaved, plus the C posix_spawn floor (bare, and with captured output)
 * run in slices between the JS blocks so that it sees the same background load.
 *
 * Also /bin/true after 50 ms of idleness, as a server that spawns now and then does:
 * joining a cgroup v1 takes a percpu rwsem for writing, which waits for an RCU grace
 * period once the previous writer is more than a grace period ago, so back-to-back
 * figures alone would hide it.
 */
import { type Artifacts, runFloor } from '../lib/build.js'
import type { WorkerPeer } from '../lib/worker-peer.js'
import type { ContenderName, Measure } from '../lib/results.js'
import type { Runner } from '../lib/runner.js'
import { type Contender, interleave, summarize } from '../lib/stats.js'

export type RunnerSet = Partial<
  Record<Exclude<ContenderName, 'c_floor' | 'c_floor_pipes' | 'bun' | 'sandproc_own'>, Runner>
>

export interface W1Options {
  quick: boolean
  artifacts: Artifacts
  runners: RunnerSet
  /** Bun.spawn in its own process, interleaved like the others; null leaves it out. */
  bun: WorkerPeer | null
  /** sandproc in its own process, measured as Bun is; null leaves it out. */
  own: WorkerPeer | null
}

function contenders(opts: W1Options, program: string): Contender<string>[] {
  const list: Contender<string>[] = Object.entries(opts.runners).map(([name, r]) => ({
    name,
    op: () => r.run(program, []),
  }))
  for (const [name, peer] of [
    ['bun', opts.bun],
    ['sandproc_own', opts.own],
  ] as const) {
    if (peer !== null)
      list.push({ name, op: async () => void (await peer.run(program)), timed: () => peer.run(program) })
  }
  return list
}

export async function w1Sequential(opts: W1Options): Promise<Measure[]> {
  const programs = [
    { id: 'w1.true', label: '/bin/true start→exit', path: '/bin/true' },
    { id: 'w1.noop', label: 'static no-op start→exit', path: opts.artifacts.noop },
  ]
  const blocks = 4
  const roundsPerBlock = opts.quick ? 40 : 150
  const floorPerBlock = opts.quick ? 250 : 1000
  const samples = new Map<string, Record<string, number[]>>()
  for (const p of programs) samples.set(p.id, {})

  for (let b = 0; b < blocks; b++) {
    for (const p of programs) {
      const got = await interleave(contenders(opts, p.path), {
        warmup: b === 0 ? 20 : 0,
        rounds: roundsPerBlock,
        budgetMs: opts.quick ? 2_000 : 8_000,
        minRounds: 10,
      })
      const acc = samples.get(p.id) ?? {}
      for (const [name, xs] of Object.entries(got)) (acc[name] ??= []).push(...xs)
      ;(acc.c_floor ??= []).push(...(await runFloor(opts.artifacts.floor, p.path, floorPerBlock)))
      ;(acc.c_floor_pipes ??= []).push(...(await runFloor(opts.artifacts.floor, p.path, floorPerBlock, true)))
    }
  }

  const idle = await interleave(contenders(opts, '/bin/true'), {
    warmup: 2,
    rounds: opts.quick ? 12 : 40,
    budgetMs: opts.quick ? 3_000 : 10_000,
    minRounds: 8,
    idleMs: 50,
  })
  samples.set('w1.idle', idle)
  const labels = [...programs, { id: 'w1.idle', label: '/bin/true after 50 ms idle' }]

  return labels.map((p) => {
    const results: Measure['results'] = {}
    for (const [name, xs] of Object.entries(samples.get(p.id) ?? {})) {
      results[name as ContenderName] = summarize(xs)
    }
    return { id: p.id, workload: 'W1 sequential', label: p.label, unit: 'ms', results }
  })
}
