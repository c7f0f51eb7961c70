/**
 * A profiling probe, not a workload: N spawns of one program back to back from one
 * supervisor, with their median and spread. Run it under `perf record` or `--cpu-prof`.
 *
 * usage: node --import tsx bench/probe/loop.ts PROGRAM [N] [cg|nocg]
 */
import { Supervisor } from '../../src/index.js'

const prog = process.argv[2] ?? '/bin/true'
const n = Number(process.argv[3] ?? 2000)
const cg = process.argv[4] !== 'nocg'
const sup = new Supervisor(cg ? {} : { cgroup: false })
const xs: number[] = []
for (let i = 0; i < 50; i++) await sup.run({ command: prog, args: [] }).exited
for (let i = 0; i < n; i++) {
  const t = performance.now()
  const e = await sup.run({ command: prog, args: [] }).exited
  xs.push(performance.now() - t)
  if (e.exit_code !== 0) throw new Error(`${prog} exited ${e.exit_code ?? e.signal}`)
}
xs.sort((a, b) => a - b)
const q = (p: number): string => xs[Math.floor(n * p)].toFixed(3)
console.log(`${prog} ${cg ? 'cgroup' : 'no cgroup'}: ms median ${q(0.5)}, p10 ${q(0.1)}, p90 ${q(0.9)}`)
await sup.close()
