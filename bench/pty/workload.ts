/**
 * Workload 6: PTY sessions against node-pty (docs/pty.md). node-pty forks on the JS
 * thread (forkpty), so its spawn cost grows with the parent's memory; sandproc's
 * vfork-style spawn on its spawner thread should stay flat. Also terminal throughput
 * and tail loss.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { BENCH_DIR } from '../lib/build.js'
import { runScript } from '../lib/child.js'
import type { ContenderName, Measure } from '../lib/results.js'
import { summarize } from '../lib/stats.js'

interface W8Report {
  gib: number
  nodePtyError: string | null
  spawn: Record<string, number[]>
  alone: number[]
  seq?: Record<string, number[]>
  tail?: Record<string, number[]>
}

/** `seq 1 2000000` prints 14,888,897 bytes; the terminal turns each \n into \r\n. */
const SEQ_LINES = 2_000_000
const SEQ_BYTES = 14_888_897 + SEQ_LINES

function results(samples: Record<string, number[]>): Measure['results'] {
  const out: Measure['results'] = {}
  for (const [name, xs] of Object.entries(samples)) if (xs.length > 0) out[name as ContenderName] = summarize(xs)
  return out
}

export async function w8Pty(opts: { quick: boolean }): Promise<{ measures: Measure[]; notes: string[] }> {
  const file = path.join(BENCH_DIR, '.build', 'w8-60k')
  writeFileSync(file, Buffer.alloc(60_000, 'a'))
  const measures: Measure[] = []
  const notes: string[] = []
  for (const gib of [0, 2]) {
    const r = await runScript<W8Report>(
      'pty/child.ts',
      [String(gib), opts.quick ? '1' : '0', gib === 0 ? 'all' : 'spawn', file],
      { timeoutMs: 600_000 },
    )
    if (r.nodePtyError !== null)
      notes.push(`W8: node-pty could not be loaded, measured sandproc alone: ${r.nodePtyError}`)
    measures.push({
      id: `w8.spawn${gib}`,
      workload: 'W8 PTY',
      label: `spawn→exit of /bin/true on a pty, parent holds ${gib} GiB`,
      unit: 'ms',
      results: results(r.spawn),
    })
    measures.push({
      id: `w8.spawn${gib}.alone`,
      workload: 'W8 PTY',
      label: `sandproc alone (no node-pty forks), parent holds ${gib} GiB`,
      unit: 'ms',
      results: results({ sandproc: r.alone }),
    })
    if (r.seq !== undefined) {
      measures.push({
        id: 'w8.seq',
        workload: 'W8 PTY',
        label: '`seq 1 2000000` through the terminal',
        unit: 'ms',
        work: { lines: SEQ_LINES, bytes: SEQ_BYTES },
        results: results(r.seq),
      })
    }
    if (r.tail !== undefined) {
      measures.push({
        id: 'w8.tail',
        workload: 'W8 PTY',
        label: 'bytes missing at the exit event, 60 KB writer',
        unit: 'bytes',
        results: results(r.tail),
      })
      for (const [name, xs] of Object.entries(r.tail)) {
        if (xs.length === 0) continue
        const lost = xs.filter((x) => x > 0).length
        notes.push(
          `W8 tail loss, ${name}: ${lost} of ${xs.length} runs lost bytes, ${xs.reduce((a, b) => a + b, 0)} bytes in all`,
        )
      }
    }
  }
  return { measures, notes }
}
