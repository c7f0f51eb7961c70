/**
 * A profiling probe: sandproc with and without cgroups (or two source trees) in worker
 * processes of their own, interleaved one run at a time with Bun as W1 does, which
 * cancels the drift of a shared machine out of the comparison.
 *
 * usage: npx tsx bench/probe/ab.ts PROGRAM [N] [IDLE_MS]
 *   PHASES=1   use phases-worker.ts (per-phase medians on stderr at the end)
 *   TREES=a,b  compare the bench/spawn/own-worker.ts of two checkouts instead (each needs its
 *              own node_modules and build)
 */
import path from 'node:path'

import { startBun } from '../lib/bun.js'
import { BENCH_DIR } from '../lib/build.js'
import { WorkerPeer } from '../lib/worker-peer.js'

const prog = process.argv[2] ?? '/bin/true'
const n = Number(process.argv[3] ?? 600)
const idle = Number(process.argv[4] ?? 0)

function worker(name: string, script: string, env: Record<string, string> = {}): WorkerPeer {
  return new WorkerPeer(name, process.version, process.execPath, ['--import', 'tsx', script], {
    ...process.env,
    ...env,
  })
}

const peers: Record<string, WorkerPeer> = {}
const trees = process.env.TREES?.split(',')
if (trees !== undefined) {
  for (const t of trees) peers[t] = worker(t, path.join(path.resolve(t), 'bench', 'spawn', 'own-worker.ts'))
} else {
  const script = path.join(BENCH_DIR, process.env.PHASES === '1' ? 'probe/phases-worker.ts' : 'spawn/own-worker.ts')
  peers.sandproc = worker('sandproc', script)
  if (process.env.PHASES === '1') peers.nocg = worker('nocg', script, { OWN_NOCG: '1' })
}
const bun = startBun((msg) => console.error(msg))
if (bun !== null) peers.bun = bun

const xs: Record<string, number[]> = Object.fromEntries(Object.keys(peers).map((k) => [k, []]))
for (let i = 0; i < n + 20; i++) {
  for (const [k, p] of Object.entries(peers)) {
    if (idle > 0) await new Promise((resolve) => setTimeout(resolve, idle))
    const ms = await p.run(prog)
    if (i >= 20) xs[k].push(ms)
  }
}
const q = (a: number[], f: number): string => [...a].sort((x, y) => x - y)[Math.floor(a.length * f)].toFixed(3)
console.log(
  `${path.basename(prog)}, ms: ${Object.entries(xs)
    .map(([k, a]) => `${k} ${q(a, 0.5)} (p10 ${q(a, 0.1)}, p90 ${q(a, 0.9)})`)
    .join(' | ')}`,
)
for (const p of Object.values(peers)) await p.close()
