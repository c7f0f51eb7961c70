/**
 * sandproc's side-by-side benchmark: `tsx bench/index.ts [--quick] [--only w1,w2,...]`.
 * Runs the workloads of bench/README.md, then writes bench/results.json and bench/results.svg
 * and prints the markdown tables (measures, then targets with pass/miss).
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { BENCH_DIR, buildArtifacts } from './lib/build.js'
import { startBun, startOwnSandproc } from './lib/bun.js'
import { machineFacts } from './lib/machine.js'
import { childProcessRunner, execaRunner } from './lib/peers.js'
import { machineLines, markdownReport } from './lib/report.js'
import type { BenchResults, ContenderName, Measure } from './lib/results.js'
import { sandprocRunner } from './lib/sandproc.js'
import {
  type CgroupShape,
  STARTED_IN,
  describeShape,
  hostShape,
  leaveLauncherBehind,
  workerCgroupParent,
} from './lib/shape.js'
import { ratioChart } from './lib/svg.js'
import { contextNotes, evaluateTargets } from './lib/targets.js'
import { type RunnerSet, w1Sequential } from './spawn/workload.js'
import { w2Memory } from './memory/workload.js'
import { w3Burst } from './burst/workload.js'
import { w4Output } from './output/workload.js'
import { w5Http } from './http/workload.js'
import { w6Many } from './many/workload.js'
import { w7ServerLoad } from './server-load/workload.js'
import { w8Pty } from './pty/workload.js'
import { limitsCost } from './limits/workload.js'
import { obsCost } from './observability/workload.js'
import { endingsCost } from './endings/workload.js'

const WORKLOADS = ['w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7', 'w8', 'limits', 'obs', 'endings'] as const
type Workload = (typeof WORKLOADS)[number]

const USAGE = `usage: npm run bench -- [--quick] [--only ${WORKLOADS.join(',')}]
  --quick  fewer rounds (a smoke run; its figures are not for comparing)
  --only   these workloads only (bench/README.md says what each measures)
Writes bench/results.json and bench/results.svg and prints the tables.
`
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (values.help === true) {
  process.stdout.write(USAGE)
  process.exit(0)
}
const quick = values.quick === true
const only = (values.only?.split(',') ?? [...WORKLOADS]).map((w) => w.trim())
for (const w of only) {
  if (!(WORKLOADS as readonly string[]).includes(w))
    throw new TypeError(`--only: unknown workload ${w} (${WORKLOADS.join(',')})`)
}
const selected = (w: Workload): boolean => only.includes(w)

const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`)
const measures: Measure[] = []
const notes: string[] = []
const durations: Record<string, number> = {}

async function step(name: Workload, body: () => Promise<void>): Promise<void> {
  if (!selected(name)) return
  log(`${name}...`)
  const t = performance.now()
  await body()
  durations[name] = Math.round((performance.now() - t) / 100) / 10
  log(`${name} done in ${durations[name]} s`)
}

const started = performance.now()
// Before anything starts a process: the bench alone in its cgroup (lib/shape.ts).
const launcher = leaveLauncherBehind()
if (launcher !== null) log(launcher)
const machine = machineFacts()
const artifacts = await buildArtifacts()
const sandproc = await sandprocRunner()
// With cgroups on, the same supervisor without them shows what the cgroup step costs.
const sandprocNoCg = sandproc.cgroup === 'none' ? null : await sandprocRunner({ cgroup: false })
const peers = { child_process: childProcessRunner, execa: execaRunner }
const w1Runners: RunnerSet = { sandproc, ...(sandprocNoCg ? { sandproc_nocg: sandprocNoCg } : {}), ...peers }
const bun = startBun(log)
if (bun !== null) log(`Bun ${bun.version}`)
// Bun runs in a process of its own; so does this sandproc, its like-for-like peer.
const own = bun !== null && selected('w1') ? startOwnSandproc(workerCgroupParent(sandproc.shape)) : null
// Which deployment shape this run measured (docs/deploying.md), for the log and the report.
const shapes = {
  startedIn: hostShape(STARTED_IN) + (launcher === null ? '' : `; ${launcher}`),
  shape: describeShape(sandproc.shape),
  ...(own === null ? {} : { ownShape: describeShape(await own.ask<CgroupShape>('shape')) }),
}
log(`started in ${shapes.startedIn}; sandproc: ${shapes.shape}`)
if (shapes.ownShape !== undefined) log(`sandproc in its own process: ${shapes.ownShape}`)

try {
  await step('w1', async () => {
    measures.push(...(await w1Sequential({ quick, artifacts, runners: w1Runners, bun, own })))
  })
  await step('w2', async () => {
    const r = await w2Memory({ quick })
    measures.push(...r.measures)
    notes.push(...r.notes)
  })
  await step('w3', async () => {
    const contenders: ContenderName[] = [
      'sandproc',
      ...(sandprocNoCg ? (['sandproc_nocg'] as const) : []),
      'child_process',
      'execa',
    ]
    measures.push(...(await w3Burst({ quick, artifacts, contenders })))
  })
  await step('w4', async () => {
    measures.push(...(await w4Output({ quick, runners: { sandproc, ...peers } })))
  })
  await step('w5', async () => {
    const r = await w5Http({ quick })
    measures.push(...r.measures)
    notes.push(...r.notes)
  })
  await step('w6', async () => {
    const r = await w6Many({ quick })
    measures.push(...r.measures)
    notes.push(...r.notes)
  })
  await step('w7', async () => {
    const r = await w7ServerLoad({ quick })
    measures.push(...r.measures)
    notes.push(...r.notes)
  })
  await step('w8', async () => {
    const r = await w8Pty({ quick })
    measures.push(...r.measures)
    notes.push(...r.notes)
  })
  // What metrics, tracing and the audit log cost a spawn.
  await step('obs', async () => {
    notes.push(...(await obsCost({ quick })).notes)
  })
  // The spawn cost of each limit (docs/cgroups.md); needs the pids and cpu
  // controllers.
  if (sandproc.cgroup !== 'none') {
    await step('limits', async () => {
      notes.push(...(await limitsCost({ quick })).notes)
    })
  }
  // What max_output_bytes costs a run with a lot of output (docs/endings.md).
  await step('endings', async () => {
    notes.push(...(await endingsCost({ quick })).notes)
  })
} finally {
  // The workers first: the own-process sandproc's cgroups are inside this one's parent directory.
  await bun?.close()
  await own?.close()
  await sandproc.close()
  await sandprocNoCg?.close()
}

const args = process.argv.slice(2)
const results: BenchResults = {
  command: `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
  quick,
  machine,
  sandproc: { cgroup: sandproc.cgroup, ...shapes },
  bun: bun?.version ?? null,
  measures,
  // With --only, the targets of workloads that did not run are left out, not shown n/a.
  targets: evaluateTargets(measures).filter((t) => selected(t.workload.toLowerCase() as Workload)),
  notes: [...contextNotes(measures), ...notes],
  durations: { ...durations, total: Math.round((performance.now() - started) / 100) / 10 },
}
writeFileSync(path.join(BENCH_DIR, 'results.json'), JSON.stringify(results, null, 2) + '\n')
writeFileSync(path.join(BENCH_DIR, 'results.svg'), ratioChart(measures, machineLines(results)))
process.stdout.write(markdownReport(results) + '\n')
log(`wrote bench/results.json and bench/results.svg in ${results.durations.total} s total`)
