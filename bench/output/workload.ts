/**
 * Workload 4: output consumed as one event object per line, with a timestamp:
 * `seq 1 2000000` and a 200 MB file of 100-byte lines through `cat`. sandproc's
 * `output` events against child_process + readline and execa's line iteration.
 */
import { LINE_BYTES, lineFile, seqBytes } from '../lib/build.js'
import type { ContenderName, Measure } from '../lib/results.js'
import { type Runner, which } from '../lib/runner.js'
import { interleave, summarize } from '../lib/stats.js'

const LINES = 2_000_000

export async function w4Output(opts: {
  quick: boolean
  runners: Partial<Record<ContenderName, Runner>>
}): Promise<Measure[]> {
  const file = await lineFile(LINES)
  const inputs = [
    {
      id: 'w4.seq',
      label: `seq 1 ${LINES} as line events`,
      command: which('seq'),
      args: ['1', String(LINES)],
      warmArgs: ['1', String(LINES / 10)],
      bytes: seqBytes(LINES),
    },
    {
      id: 'w4.cat',
      label: `cat ${(LINES * LINE_BYTES) / 1e6} MB of ${LINE_BYTES}-byte lines`,
      command: which('cat'),
      args: [file],
      warmArgs: [await lineFile(LINES / 10)],
      bytes: LINES * LINE_BYTES,
    },
  ]
  const measures: Measure[] = []
  for (const input of inputs) {
    const contenders = Object.entries(opts.runners).map(([name, r]) => ({
      name,
      // A tenth of the work warms the JIT as well; the file is in the page cache already.
      warm: async () => void (await r.lines(input.command, input.warmArgs)),
      op: async () => {
        const tally = await r.lines(input.command, input.args)
        // A contender that lost or merged lines would look fast for the wrong reason.
        if (tally.lines !== LINES || tally.bytes !== input.bytes) {
          throw new Error(`${name}: ${input.id} gave ${tally.lines} lines / ${tally.bytes} bytes`)
        }
      },
    }))
    const samples = await interleave(contenders, {
      warmup: 1,
      rounds: opts.quick ? 2 : 6,
      budgetMs: opts.quick ? 5_000 : 25_000,
      minRounds: opts.quick ? 1 : 3,
    })
    const results: Measure['results'] = {}
    for (const [name, xs] of Object.entries(samples)) results[name as ContenderName] = summarize(xs)
    measures.push({
      id: input.id,
      workload: 'W4 output lines',
      label: input.label,
      unit: 'ms',
      work: { lines: LINES, bytes: input.bytes },
      results,
    })
  }
  return measures
}
