/** The markdown printed at the end of a run (and pasted into docs/performance.md). */
import { type BenchResults, type ContenderName, type Measure, advantage, rates } from './results.js'
import type { Summary } from './stats.js'

const COLUMNS: { name: ContenderName; title: string }[] = [
  { name: 'sandproc', title: 'sandproc' },
  { name: 'sandproc_nocg', title: 'sandproc, no cgroup' },
  { name: 'sandproc_own', title: 'sandproc, own process' },
  { name: 'bun', title: 'Bun.spawn' },
  { name: 'child_process', title: 'child_process' },
  { name: 'execa', title: 'execa' },
  { name: 'c_floor', title: 'C floor' },
  { name: 'c_floor_pipes', title: 'C floor + pipes' },
  { name: 'node_pty', title: 'node-pty' },
]

function num(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`
  if (x >= 1e4) return `${(x / 1e3).toFixed(0)} k`
  if (x >= 100) return x.toFixed(0)
  if (x >= 10) return x.toFixed(1)
  return x.toFixed(x >= 1 ? 2 : 3)
}

function cell(m: Measure, who: ContenderName, s: Summary | undefined): string {
  if (s === undefined) return '–'
  const r = rates(m, who)
  if (r === null || m.work === undefined) return `${num(s.median)} (${num(s.p90)})`
  // For rates the slow tail is the p90 *time*, shown as the rate it gives.
  const tail = m.work.lines / (s.p90 / 1000)
  return `${num(r.linesPerSec)} l/s (${num(tail)}), ${num(r.mbPerSec)} MB/s`
}

function ratio(x: number | null): string {
  return x === null ? '–' : `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`
}

export function measuresTable(measures: readonly Measure[]): string {
  // Only the contenders this run measured (the no-cgroup variant exists only with cgroups).
  const columns = COLUMNS.filter((c) => measures.some((m) => m.results[c.name] !== undefined))
  const withBun = measures.some((m) => m.results.bun !== undefined)
  const withOwn = measures.some((m) => m.results.sandproc_own !== undefined)
  const head = [
    'workload',
    'measure',
    'unit',
    ...columns.map((c) => c.title),
    ...(withBun ? ['Bun ÷ sandproc'] : []),
    ...(withOwn ? ['Bun ÷ sandproc, each in its own process'] : []),
    'child_process ÷ sandproc',
    'execa ÷ sandproc',
  ]
  const rows = measures.map((m) => [
    m.workload,
    m.label,
    m.work === undefined ? `${m.unit}, median (p90)` : 'lines/s at median (p90) time',
    ...columns.map((c) => cell(m, c.name, m.results[c.name])),
    ...(withBun ? [ratio(advantage(m, 'bun'))] : []),
    ...(withOwn ? [ratio(advantage(m, 'bun', 'sandproc_own'))] : []),
    ratio(advantage(m, 'child_process')),
    ratio(advantage(m, 'execa')),
  ])
  return table(head, rows)
}

export function targetsTable(results: BenchResults): string {
  const rows = results.targets.map((t) => [
    t.workload,
    t.text,
    t.measured === null
      ? 'n/a'
      : t.unit === '×'
        ? ratio(t.measured)
        : `${t.measured === 0 ? '0' : num(t.measured)}${t.unit === 'count' ? '' : ` ${t.unit}`}`,
    `${t.op} ${t.threshold}${t.unit === '×' ? '×' : t.unit === 'count' ? '' : ` ${t.unit}`}`,
    t.pass === null ? 'n/a' : t.pass ? 'pass' : '**miss**',
  ])
  return table(['workload', 'target', 'measured', 'needed', ''], rows)
}

/** The machine facts in two short lines (the chart prints them as its subtitle). */
export function machineLines(results: BenchResults): [string, string] {
  const m = results.machine
  return [
    `Linux ${m.kernel} ${m.arch}, ${m.cpus} CPUs (${m.cpuModel}), ${m.memTotalGiB} GiB, Node ${m.node}${results.bun === null ? '' : `, Bun ${results.bun}`}`,
    `cgroups ${m.cgroupMode} (sandproc: ${results.sandproc.cgroup}), load ${m.loadAvgAtStart} at start, ` +
      `${results.quick ? 'quick' : 'full'} run, ${m.date}`,
  ]
}

/** Where the run started and where each sandproc put its cgroups (older results lack them). */
function shapeLines(results: BenchResults): string[] {
  const s = results.sandproc
  return [
    ...(s.startedIn === undefined ? [] : [`Started in ${s.startedIn}.`]),
    ...(s.shape === undefined ? [] : [`sandproc: ${s.shape}.`]),
    ...(s.ownShape === undefined ? [] : [`sandproc in its own process: ${s.ownShape}.`]),
  ]
}

export function markdownReport(results: BenchResults): string {
  return [
    `Machine: ${machineLines(results).join(', ')}`,
    ...shapeLines(results),
    '',
    'Ratios are how many times better sandproc is (peer ÷ sandproc time; above 1 = sandproc wins).',
    '',
    measuresTable(results.measures),
    '',
    targetsTable(results),
    ...(results.notes.length > 0 ? ['', ...results.notes.map((n) => `- ${n}`)] : []),
  ].join('\n')
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}
