/** Reading Prometheus text in tests: samples by name and labels, and differences between scrapes. */

/** `name{a="1",b="2"}` (labels sorted) → value. */
export type Samples = Map<string, number>

export function parseMetrics(text: string): Samples {
  const out: Samples = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, k, v]) => `${k}="${v}"`)
      .sort()
    out.set(labels.length === 0 ? m[1] : `${m[1]}{${labels.join(',')}}`, Number(m[3]))
  }
  return out
}

/** How much each sample of `after` moved since `before` (absent before = 0). */
export function delta(before: Samples, after: Samples): (key: string) => number {
  return (key) => (after.get(key) ?? 0) - (before.get(key) ?? 0)
}

/** The label values of `label` in every sample of `name`. */
export function labelValues(samples: Samples, name: string, label: string): string[] {
  const out: string[] = []
  for (const key of samples.keys()) {
    if (!key.startsWith(`${name}{`)) continue
    const m = new RegExp(`${label}="([^"]*)"`).exec(key)
    if (m !== null) out.push(m[1])
  }
  return out
}
