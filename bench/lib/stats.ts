/**
 * Summaries of timing samples. Every source of samples (JS loops, the C floor, child
 * benchmark processes) goes through `summarize`, so medians and p90s mean the same
 * thing everywhere.
 */

export interface Summary {
  n: number
  median: number
  p90: number
  min: number
  max: number
  mean: number
}

/** Median (mean of the two middle samples when n is even) and nearest-rank p90. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('summarize: no samples')
  const s = [...samples].sort((a, b) => a - b)
  const n = s.length
  const mid = n >> 1
  const median = n % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
  const p90 = s[Math.max(0, Math.ceil(0.9 * n) - 1)]
  const mean = s.reduce((acc, x) => acc + x, 0) / n
  return { n, median, p90, min: s[0], max: s[n - 1], mean }
}

/** One contender of an interleaved loop: a name and one operation to time. */
export interface Contender<K extends string> {
  name: K
  op: () => Promise<void>
  /** A cheaper operation for the warm-up, when `op` itself takes seconds. */
  warm?: () => Promise<void>
  /**
   * Instead of timing `op` here: an operation that times itself elsewhere and returns
   * the ms (Bun, in a process of its own, whose round trip is not part of the work).
   */
  timed?: () => Promise<number>
}

export interface InterleaveOptions {
  /** Untimed operations per contender before measuring (JIT, page cache, pools). */
  warmup: number
  /** Timed rounds; each round runs every contender once. */
  rounds: number
  /**
   * Stop early once this much time went by (but never before `minRounds`), so that a
   * slow or noisy machine still finishes in bounded time.
   */
  budgetMs: number
  minRounds: number
  /** Untimed idle time before every timed operation (0 or absent: back to back). */
  idleMs?: number
}

/**
 * Runs the contenders as A B C A B C ... and returns each one's samples in ms.
 * Interleaving spreads background noise (other builds on a shared machine, GC) over
 * all contenders instead of landing on whichever ran during the noisy second.
 */
export async function interleave<K extends string>(
  contenders: readonly Contender<K>[],
  opts: InterleaveOptions,
): Promise<Record<K, number[]>> {
  for (let i = 0; i < opts.warmup; i++) {
    for (const c of contenders) await (c.warm ?? c.timed ?? c.op)()
  }
  const out = {} as Record<K, number[]>
  for (const c of contenders) out[c.name] = []
  const t0 = performance.now()
  for (let r = 0; r < opts.rounds; r++) {
    for (const c of contenders) {
      if (opts.idleMs) await new Promise((resolve) => setTimeout(resolve, opts.idleMs))
      if (c.timed !== undefined) {
        out[c.name].push(await c.timed())
        continue
      }
      const t = performance.now()
      await c.op()
      out[c.name].push(performance.now() - t)
    }
    if (r + 1 >= opts.minRounds && performance.now() - t0 > opts.budgetMs) break
  }
  return out
}
