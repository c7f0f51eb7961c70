/**
 * bench/results.svg: the speed ratios as horizontal bars on a log scale, written by hand
 * so the bench needs no charting dependency. Above 1× sandproc is faster; a red tick
 * marks the target (docs/performance.md) for child_process where there is one.
 */
import { type Measure, advantage } from './results.js'

/** The threshold on child_process ÷ sandproc, per measure (bench/README.md). */
const CP_TARGETS: Record<string, number> = {
  'w1.true': 3,
  'w1.noop': 4,
  'w2.buf2': 20,
  'w3.spawn': 4,
  'w3.eld': 2,
  'w4.seq': 1.5,
  'w4.cat': 1.5,
  'w5.lines': 3,
  'w7.run': 3,
  'w7.p99': 1,
}

/** Measures whose ratio is a speed; lag near zero and fd counts make meaningless ratios. */
const CHARTED = (m: Measure): boolean => m.unit === 'ms' && m.id !== 'w3.lag'

const SERIES = [
  { name: 'bun', label: 'Bun.spawn ÷ sandproc', color: '#76b7b2' },
  { name: 'child_process', label: 'child_process ÷ sandproc (W5: naive server)', color: '#4e79a7' },
  { name: 'execa', label: 'execa ÷ sandproc', color: '#f28e2b' },
  { name: 'c_floor', label: 'C posix_spawn floor ÷ sandproc', color: '#59a14f' },
  { name: 'c_floor_pipes', label: 'C floor with stdout/stderr pipes ÷ sandproc', color: '#b07aa1' },
  { name: 'node_pty', label: 'node-pty ÷ sandproc (W6)', color: '#e15759' },
] as const

/**
 * The goal on sandproc ÷ C floor (1.5×, workload 1; docs/performance.md), as floor ÷
 * sandproc.
 */
const FLOOR_TARGETS: Record<string, number> = { 'w1.true': 1 / 1.5, 'w1.noop': 1 / 1.5 }

/**
 * The goal of docs/performance.md: at least as fast as Bun.spawn, back to back and
 * after idleness.
 */
const BUN_TARGETS: Record<string, number> = { 'w1.true': 1, 'w1.idle': 1 }

const LABEL_W = 330
const PLOT_W = 500
const BAR_H = 9
const MIN = 0.1
const MAX = 100

function x(ratio: number): number {
  const clamped = Math.min(MAX, Math.max(MIN, ratio))
  return LABEL_W + (Math.log10(clamped / MIN) / Math.log10(MAX / MIN)) * PLOT_W
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** `subtitle` lines are printed under the title (the machine facts of the run). */
export function ratioChart(measures: readonly Measure[], subtitle: readonly string[]): string {
  // Each row holds one bar per contender measured on it, so rows differ in height.
  const rows = measures
    .filter(CHARTED)
    .map((m) => ({
      m,
      bars: SERIES.flatMap((s) => {
        const r = advantage(m, s.name)
        return r === null ? [] : [{ s, r }]
      }),
    }))
    // Rows measured on sandproc alone have nothing to compare.
    .filter((row) => row.bars.length > 0)
  const legendY = 38 + subtitle.length * 15
  const top = legendY + (SERIES.length + 1) * 15 + 10
  const rowH = (bars: number): number => 12 + bars * (BAR_H + 2)
  const bottom = top + rows.reduce((h, row) => h + rowH(row.bars.length), 0)
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${LABEL_W + PLOT_W + 60}" height="${bottom + 30}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">How many times faster sandproc is (log scale)</text>`,
  ]
  subtitle.forEach((line, i) => out.push(`<text x="10" y="${38 + i * 15}" fill="#555">${esc(line)}</text>`))
  SERIES.forEach((s, i) => {
    const y = legendY + i * 15
    out.push(`<rect x="10" y="${y - 9}" width="12" height="10" fill="${s.color}"/>`)
    out.push(`<text x="28" y="${y}" fill="#333">${esc(s.label)}</text>`)
  })
  const ty = legendY + SERIES.length * 15
  out.push(`<line x1="16" y1="${ty - 10}" x2="16" y2="${ty + 1}" stroke="#e15759" stroke-width="2"/>`)
  out.push(`<text x="28" y="${ty}" fill="#333">the target (the bar must reach it)</text>`)
  for (const tick of [0.1, 0.3, 1, 3, 10, 30, 100]) {
    const tx = x(tick).toFixed(1)
    out.push(`<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${bottom}" stroke="${tick === 1 ? '#000' : '#ddd'}"/>`)
    out.push(`<text x="${tx}" y="${bottom + 16}" text-anchor="middle" fill="#555">${tick}×</text>`)
  }
  let y0 = top
  for (const { m, bars } of rows) {
    out.push(
      `<text x="${LABEL_W - 8}" y="${y0 + 14}" text-anchor="end">${esc(m.workload.split(' ')[0] ?? '')} ${esc(m.label)}</text>`,
    )
    const barY = (i: number): number => y0 + 3 + i * (BAR_H + 2)
    bars.forEach(({ s, r }, i) => {
      const [a, b] = [x(1), x(r)].sort((p, q) => p - q)
      out.push(
        `<rect x="${a.toFixed(1)}" y="${barY(i)}" width="${Math.max(1, b - a).toFixed(1)}" height="${BAR_H}" fill="${s.color}"/>`,
      )
      const label = r >= 10 ? r.toFixed(0) : r.toFixed(2)
      const anchor = r >= 1 ? 'start' : 'end'
      out.push(
        `<text x="${(r >= 1 ? b + 3 : a - 3).toFixed(1)}" y="${barY(i) + BAR_H - 1}" font-size="10" text-anchor="${anchor}">${label}×</text>`,
      )
    })
    // After the bars, so that a bar that passes its target does not hide the tick.
    bars.forEach(({ s }, i) => {
      const t =
        s.name === 'child_process'
          ? CP_TARGETS[m.id]
          : s.name === 'c_floor'
            ? FLOOR_TARGETS[m.id]
            : s.name === 'bun'
              ? BUN_TARGETS[m.id]
              : undefined
      if (t === undefined) return
      const tx = x(t).toFixed(1)
      out.push(
        `<line x1="${tx}" y1="${barY(i) - 2}" x2="${tx}" y2="${barY(i) + BAR_H + 2}" stroke="#e15759" stroke-width="2"/>`,
      )
    })
    y0 += rowH(bars.length)
  }
  out.push('</svg>')
  return out.join('\n') + '\n'
}
