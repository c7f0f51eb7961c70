/**
 * Workload 2: /bin/true from a parent holding 0, 1, 2 GiB of touched Buffers, and 1 GiB
 * of JS heap. fork() copies the parent's page tables, so child_process's cost grows with
 * the parent; a vfork-style spawn shares them and should stay flat.
 */
import { runScript } from '../lib/child.js'
import type { ContenderName, Measure } from '../lib/results.js'
import { summarize } from '../lib/stats.js'

interface ChildReport {
  rssMiB: number
  heapMiB: number
  samples: Record<string, number[]>
  /** sandproc with no fork of a peer in between (see child.ts). */
  alone: number[]
}

const SIZES = [
  { id: 'w2.buf0', kind: 'buffers', gib: 0, label: 'parent holds 0 GiB' },
  { id: 'w2.buf1', kind: 'buffers', gib: 1, label: 'parent holds 1 GiB Buffers' },
  { id: 'w2.buf2', kind: 'buffers', gib: 2, label: 'parent holds 2 GiB Buffers' },
  { id: 'w2.heap1', kind: 'heap', gib: 1, label: 'parent holds 1 GiB JS heap' },
] as const

export async function w2Memory(opts: { quick: boolean }): Promise<{ measures: Measure[]; notes: string[] }> {
  const measures: Measure[] = []
  const alone: Measure[] = []
  const notes: string[] = []
  for (const size of SIZES) {
    const report = await runScript<ChildReport>(
      'memory/child.ts',
      [size.kind, String(size.gib), opts.quick ? '1' : '0'],
      {
        // Room for the JS heap variant; the Buffer variants live outside the V8 heap.
        nodeFlags: size.kind === 'heap' ? [`--max-old-space-size=${(size.gib + 1) * 1024 + 512}`] : [],
        timeoutMs: 120_000,
      },
    )
    const results: Measure['results'] = {}
    for (const [name, xs] of Object.entries(report.samples)) results[name as ContenderName] = summarize(xs)
    measures.push({ id: size.id, workload: 'W2 parent memory', label: `/bin/true, ${size.label}`, unit: 'ms', results })
    alone.push({
      id: `${size.id}.alone`,
      workload: 'W2 parent memory',
      label: `sandproc alone (no peer forks), ${size.label}`,
      unit: 'ms',
      results: { sandproc: summarize(report.alone) },
    })
    notes.push(`W2 ${size.label}: child RSS ${report.rssMiB} MiB, JS heap used ${report.heapMiB} MiB`)
  }
  return { measures: [...measures, ...alone], notes }
}
