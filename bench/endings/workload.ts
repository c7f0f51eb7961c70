/**
 * The `endings` workload (docs/endings.md): what `max_output_bytes` costs or saves. A `run`
 * of `seq 1 2000000` (about 14.9 MB, 2 million lines) read through its `run` event stream
 * (the SSE bytes `POST /processes/run` sends, without a socket), run → last chunk, plain
 * and with `max_output_bytes` of 1 MiB, interleaved. Also what each one sent.
 *
 * Standalone: `tsx bench/endings/workload.ts [--quick]` prints one JSON line; `npm run bench`
 * (or `npm run bench -- --only endings`) adds its figures to the notes.
 */
import { parseArgs } from 'node:util'
import { Supervisor, runEventStream } from '../../src/index.js'
import type { RunRequest } from '../../src/types.js'
import { interleave, summarize } from '../lib/stats.js'

const SEQ: RunRequest = { command: 'seq', args: ['1', '2000000'] }
const KINDS = {
  plain: SEQ,
  max_output_1m: { ...SEQ, max_output_bytes: 1 << 20 },
} as const satisfies Record<string, RunRequest>
type Kind = keyof typeof KINDS

export interface EndingsCosts {
  /** run → end of its event stream, ms. */
  ms: Record<Kind, { median: number; p90: number; n: number }>
  /** CPU time of this process (the supervisor's side: reading, splitting, framing), ms. */
  cpuMs: Record<Kind, { median: number; p90: number; n: number }>
  /** Bytes of SSE the stream carried. */
  sentBytes: Record<Kind, number>
}

/** Runs `req` and reads its whole event stream; returns the bytes it carried. */
async function drain(sup: Supervisor, req: RunRequest): Promise<number> {
  let bytes = 0
  for await (const chunk of runEventStream(sup.run(req))) bytes += chunk.length
  return bytes
}

export async function endingsCost(opts: { quick: boolean }): Promise<{ costs: EndingsCosts; notes: string[] }> {
  const sup = new Supervisor()
  try {
    const sentBytes = {} as Record<Kind, number>
    const cpu = Object.fromEntries(Object.keys(KINDS).map((k) => [k, [] as number[]])) as Record<Kind, number[]>
    const contenders = (Object.keys(KINDS) as Kind[]).map((name) => ({
      name,
      op: async (): Promise<void> => {
        const c0 = process.cpuUsage()
        sentBytes[name] = await drain(sup, KINDS[name])
        const c = process.cpuUsage(c0)
        cpu[name].push((c.user + c.system) / 1000)
      },
    }))
    const samples = await interleave(contenders, {
      warmup: 1,
      rounds: opts.quick ? 3 : 10,
      budgetMs: opts.quick ? 15_000 : 60_000,
      minRounds: 3,
    })
    const ms = {} as EndingsCosts['ms']
    const cpuMs = {} as EndingsCosts['cpuMs']
    for (const k of Object.keys(KINDS) as Kind[]) {
      const s = summarize(samples[k])
      ms[k] = { median: Math.round(s.median), p90: Math.round(s.p90), n: s.n }
      // The warm-up's sample is the first: leave it out as interleave does.
      const c = summarize(cpu[k].slice(1))
      cpuMs[k] = { median: Math.round(c.median), p90: Math.round(c.p90), n: c.n }
    }
    const costs: EndingsCosts = { ms, cpuMs, sentBytes }
    const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`
    const note =
      'Endings: run of seq 1 2000000 through its run event stream, median (p90) ms: ' +
      (Object.keys(KINDS) as Kind[])
        .map(
          (k) =>
            `${k} ${ms[k].median} (${ms[k].p90}), CPU ${cpuMs[k].median} (${cpuMs[k].p90}), ${mb(sentBytes[k])} sent`,
        )
        .join('; ')
    return { costs, notes: [note] }
  } finally {
    await sup.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } })
  const { costs } = await endingsCost({ quick: values.quick === true })
  process.stdout.write(JSON.stringify(costs) + '\n')
}
