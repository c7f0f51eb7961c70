/**
 * Workload 3: bursts of 1,000 concurrent `sleep 1`, one fresh process per burst
 * (child.ts), contenders alternating burst by burst, and the same burst from C
 * (burst_floor.c) as the floor of what starting 1,000 processes costs on this machine.
 */
import { type Artifacts, runBurstFloor } from '../lib/build.js'
import { runScript } from '../lib/child.js'
import type { ContenderName, Measure } from '../lib/results.js'
import { which } from '../lib/runner.js'
import { summarize } from '../lib/stats.js'
import type { BurstReport } from './child.js'

const N = 1000

const METRICS = [
  { key: 'spawnAllMs', id: 'w3.spawn', label: `time to start all ${N}`, unit: 'ms' },
  { key: 'lastExitLagMs', id: 'w3.lag', label: 'common deadline → last exit', unit: 'ms' },
  { key: 'maxLoopDelayMs', id: 'w3.eld', label: 'max event-loop delay', unit: 'ms' },
  { key: 'fdsPerProcess', id: 'w3.fds', label: 'parent fds per child', unit: 'fds' },
] as const

export interface W3Options {
  quick: boolean
  artifacts: Artifacts
  contenders: ContenderName[]
}

export async function w3Burst(opts: W3Options): Promise<Measure[]> {
  const rounds = opts.quick ? 1 : 3
  const reports = new Map<ContenderName, Partial<BurstReport>[]>()
  const add = (name: ContenderName, r: Partial<BurstReport>): void => {
    reports.set(name, [...(reports.get(name) ?? []), r])
  }
  for (let r = 0; r < rounds; r++) {
    for (const name of opts.contenders) {
      const report = await runScript<BurstReport>('burst/child.ts', [name, String(N)], {
        // Up to 4 fds per child plus Node's own; prlimit steps in only below this.
        nofile: N * 4 + 1024,
        timeoutMs: 90_000,
      })
      add(name, report)
    }
    add('c_floor', await runBurstFloor(opts.artifacts.burstFloor, which('sleep'), '1', N))
  }
  return METRICS.map((m) => {
    const results: Measure['results'] = {}
    for (const [name, rs] of reports) {
      const xs = rs.flatMap((r) => {
        const v = r[m.key]
        return v === undefined ? [] : [v]
      })
      if (xs.length > 0) results[name] = summarize(xs)
    }
    return { id: m.id, workload: `W3 burst ×${N}`, label: m.label, unit: m.unit, results }
  })
}
