/**
 * The `limits` workload (docs/cgroups.md): what each limit costs a spawn. `/bin/true`
 * start→exit on one default supervisor without a limit, with `pids_limit`, with
 * `cpu_limit`, with both, and with `memory_limit` for comparison, plus a supervisor
 * whose pids and cpu controllers are turned off (the cost before these limits
 * existed), interleaved, back to back and after 50 ms of idleness. On v1 a pids or cpu
 * limit adds a cgroup in that hierarchy (mkdir, a limit write, two opens, the child's
 * `tasks` join, rmdir after the exit); on v2 only a limit write into the process's own
 * cgroup.
 *
 * Standalone: `tsx bench/limits/workload.ts [--quick]` prints one JSON line; `npm run bench`
 * (or `npm run bench -- --only limits`) adds its figures to the notes.
 */
import { parseArgs } from 'node:util'
import { CgroupManager, type AcquireOptions } from '../../src/cgroup/index.js'
import { Supervisor } from '../../src/index.js'
import type { RunRequest } from '../../src/types.js'
import { interleave, summarize } from '../lib/stats.js'

const KINDS = {
  limits_off: null,
  none: {},
  pids: { pids_limit: 64 },
  cpu: { cpu_limit: 1 },
  pids_cpu: { pids_limit: 64, cpu_limit: 1 },
  memory: { memory_limit: '256M' },
} as const satisfies Record<string, Partial<RunRequest> | null>
type Kind = keyof typeof KINDS

export interface LimitCosts {
  cgroup: string | null
  /** Median and p90 ms per kind. */
  backToBack: Record<Kind, { median: number; p90: number; n: number }>
  idle50ms: Record<Kind, { median: number; p90: number; n: number }>
  /** The cgroup step alone on the JS thread (acquire and closing the join fds), µs. */
  acquireUs: Record<Exclude<Kind, 'limits_off'>, { median: number; p90: number; n: number }>
}

const ACQUIRE: Record<Exclude<Kind, 'limits_off'>, AcquireOptions> = {
  none: {},
  pids: { pidsLimit: 64 },
  cpu: { cpuLimit: 1 },
  pids_cpu: { pidsLimit: 64, cpuLimit: 1 },
  memory: { memoryLimit: 256 << 20 },
}

/** acquire() as the spawn path calls it, pools warm, releases awaited outside the timing. */
async function acquireCost(rounds: number): Promise<LimitCosts['acquireUs']> {
  const mgr = CgroupManager.detect()
  try {
    const samples = Object.fromEntries(Object.keys(ACQUIRE).map((k) => [k, [] as number[]])) as Record<
      keyof typeof ACQUIRE,
      number[]
    >
    for (let r = 0; r < rounds + 5; r++) {
      for (const [k, opts] of Object.entries(ACQUIRE) as [keyof typeof ACQUIRE, AcquireOptions][]) {
        await mgr.prepared()
        const t = performance.now()
        const cg = mgr.acquire(opts)
        cg?.closeJoinFds()
        const us = (performance.now() - t) * 1000
        if (r >= 5) samples[k].push(us)
        await cg?.release()
      }
    }
    const out = {} as LimitCosts['acquireUs']
    for (const k of Object.keys(ACQUIRE) as (keyof typeof ACQUIRE)[]) {
      const s = summarize(samples[k])
      out[k] = { median: Math.round(s.median), p90: Math.round(s.p90), n: s.n }
    }
    return out
  } finally {
    await mgr.close()
  }
}

export async function limitsCost(opts: { quick: boolean }): Promise<{ costs: LimitCosts; notes: string[] }> {
  const sup = new Supervisor()
  const off = new Supervisor({ cgroup: { hierarchies: { pids: false, cpu: false } } })
  try {
    for (const c of ['pids', 'cpu'] as const) {
      if (!sup.capabilities.controllers[c].usable)
        throw new Error(`bench limits: ${c} unusable: ${sup.capabilities.controllers[c].reason}`)
    }
    const contenders = (Object.keys(KINDS) as Kind[]).map((name) => {
      const extra = KINDS[name]
      const target = extra === null ? off : sup
      return {
        name,
        op: async (): Promise<void> => {
          const e = await target.run({ command: '/bin/true', ...(extra ?? {}) }).exited
          if (e.exit_code !== 0) throw new Error(`/bin/true (${name}): ${JSON.stringify(e)}`)
        },
      }
    })
    const back = await interleave(contenders, {
      warmup: 20,
      rounds: opts.quick ? 60 : 300,
      budgetMs: opts.quick ? 4_000 : 20_000,
      minRounds: 20,
    })
    const idle = await interleave(contenders, {
      warmup: 2,
      rounds: opts.quick ? 10 : 40,
      budgetMs: opts.quick ? 4_000 : 15_000,
      minRounds: 8,
      idleMs: 50,
    })
    const table = (samples: Record<Kind, number[]>): LimitCosts['backToBack'] => {
      const out = {} as LimitCosts['backToBack']
      for (const k of Object.keys(KINDS) as Kind[]) {
        const s = summarize(samples[k])
        out[k] = { median: +s.median.toFixed(3), p90: +s.p90.toFixed(3), n: s.n }
      }
      return out
    }
    const acquireUs = await acquireCost(opts.quick ? 50 : 300)
    const costs: LimitCosts = {
      cgroup: sup.capabilities.cgroup,
      backToBack: table(back),
      idle50ms: table(idle),
      acquireUs,
    }
    const line = (label: string, t: LimitCosts['backToBack']): string =>
      `Limits: /bin/true start→exit ${label}, median (p90) ms: ` +
      (Object.keys(t) as Kind[]).map((k) => `${k} ${t[k].median} (${t[k].p90})`).join(', ')
    const acq =
      `Limits: the cgroup step on the JS thread (acquire + close join fds), median (p90) µs: ` +
      (Object.keys(acquireUs) as (keyof typeof acquireUs)[])
        .map((k) => `${k} ${acquireUs[k].median} (${acquireUs[k].p90})`)
        .join(', ')
    return {
      costs,
      notes: [
        line(`back to back, cgroup ${costs.cgroup}`, costs.backToBack),
        line('after 50 ms idle', costs.idle50ms),
        acq,
      ],
    }
  } finally {
    await Promise.all([sup.close(), off.close()])
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } })
  const { costs } = await limitsCost({ quick: values.quick === true })
  process.stdout.write(JSON.stringify(costs) + '\n')
}
