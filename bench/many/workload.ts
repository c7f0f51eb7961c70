/**
 * Workload 6: 10,000 concurrent `sleep 5` from one supervisor with cgroups on, against
 * child_process doing the same, each burst in a fresh Node process (burst/child.ts):
 * time to start all, max event-loop delay, fds and RSS per process, and for sandproc
 * the time close() takes to remove every cgroup after the last exit (none may be left).
 *
 * The wall is the fd limit: a running sandproc process holds 3 fds (pidfd and the two
 * output pipes), child_process 3 to 4, so 10,000 need about 40,000 where this machine's
 * hard RLIMIT_NOFILE may be lower; runScript then starts the child through prlimit
 * (root). Node itself raises its soft limit to the hard one at start-up.
 */
import { runScript } from '../lib/child.js'
import type { ContenderName, Measure } from '../lib/results.js'
import { summarize } from '../lib/stats.js'
import type { BurstReport } from '../burst/child.js'

const METRICS = [
  { key: 'spawnAllMs', id: 'w6.spawn', label: 'time to start all', unit: 'ms' },
  { key: 'maxLoopDelayMs', id: 'w6.eld', label: 'max event-loop delay', unit: 'ms' },
  { key: 'fdsPerProcess', id: 'w6.fds', label: 'parent fds per child', unit: 'fds' },
  { key: 'rssPerProcessKiB', id: 'w6.rss', label: 'parent RSS per child', unit: 'KiB' },
  { key: 'closeMs', id: 'w6.close', label: 'close() removing every cgroup after the last exit', unit: 'ms' },
  { key: 'cgroupsLeft', id: 'w6.left', label: 'cgroup directories left after close()', unit: 'count' },
  {
    key: 'started',
    id: 'w6.started',
    label: 'processes that started (the rest failed with the code in the notes)',
    unit: 'count',
  },
] as const

export interface W6Options {
  quick: boolean
}

export async function w6Many(opts: W6Options): Promise<{ measures: Measure[]; notes: string[] }> {
  const n = opts.quick ? 2000 : 10_000
  const seconds = opts.quick ? 2 : 5
  const notes: string[] = []
  const reports = new Map<ContenderName, BurstReport>()
  for (const name of ['sandproc', 'child_process'] as const) {
    try {
      reports.set(
        name,
        await runScript<BurstReport>('burst/child.ts', [name, String(n), String(seconds), 'tolerate'], {
          // Raised where allowed; where not, the burst runs into the limit and counts its EMFILEs.
          nofile: n * 4 + 1024,
          nofileBestEffort: true,
          timeoutMs: (seconds + 60 + n / 20 + 120) * 1000,
        }),
      )
    } catch (err) {
      notes.push(`W6 ${name}: ${(err as Error).message.split('\n')[0]}`)
    }
  }
  for (const [name, r] of reports) {
    const failed = Object.entries(r.failures ?? {})
    notes.push(
      `W6 ${name}: ${r.started} of ${n} started` +
        (failed.length === 0
          ? ''
          : `, the others failed cleanly: ${failed.map(([code, k]) => `${k} × ${code}`).join(', ')}`) +
        ` (fd limit ${r.nofile})`,
    )
  }
  const measures = METRICS.map((m) => {
    const results: Measure['results'] = {}
    for (const [name, r] of reports) {
      const v = r[m.key]
      if (v !== undefined) results[name] = summarize([v])
    }
    return {
      id: m.id,
      workload: `W6 ${n.toLocaleString('en')} × sleep ${seconds}`,
      label: m.label,
      unit: m.unit,
      results,
    }
  })
  return { measures: measures.filter((m) => Object.keys(m.results).length > 0), notes }
}
