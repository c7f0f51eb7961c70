/**
 * A profiling probe: the own-process worker of bench/spawn/own-worker.ts (same protocol),
 * timing each phase of every run through a wrapped binding, printed to stderr as medians
 * in µs when its stdin ends: JS before the addon (pre), the addon's spawn call (native,
 * the clone until execve when inline), the hand-back to the spawn callback (toSpawnCb),
 * the start event (toStarted), the child running until the exit callback (toExitCb),
 * the exit callback itself (exitCb) and what follows until the exit event (toExited).
 * OWN_NOCG=1: without cgroups. Driven by bench/probe/ab.ts.
 */
import { createInterface } from 'node:readline'

import { Supervisor } from '../../src/index.js'
import { binding, type NativeBinding } from '../../src/native.js'

let tIn = 0
let tOut = 0
let tSpawned = 0
let tExit = 0
let tExitEnd = 0
const wrapped: NativeBinding = Object.create(binding) as NativeBinding
wrapped.spawn = (opts, onSpawned, onExit) => {
  tIn = performance.now()
  binding.spawn(
    opts,
    (err, spawned) => {
      tSpawned = performance.now()
      onSpawned(err, spawned)
    },
    (...args) => {
      tExit = performance.now()
      onExit(...args)
      tExitEnd = performance.now()
    },
  )
  tOut = performance.now()
}
const nocg = process.env.OWN_NOCG === '1'
const sup = new Supervisor(nocg ? { cgroup: false, binding: wrapped } : { binding: wrapped })
const phases: Record<string, number[]> = {
  pre: [],
  native: [],
  toSpawnCb: [],
  toStarted: [],
  toExitCb: [],
  exitCb: [],
  toExited: [],
  total: [],
}

async function run(cmd: string): Promise<{ ms: number }> {
  const t0 = performance.now()
  const p = sup.run({ command: cmd, args: [] })
  const t1 = performance.now()
  let t2 = 0
  void p.started.then(() => (t2 = performance.now()))
  await p.exited
  const t3 = performance.now()
  const add = (k: string, v: number): number => phases[k].push(v)
  add('pre', tIn - t0)
  add('native', tOut - tIn)
  add('toSpawnCb', tSpawned - t1)
  add('toStarted', t2 - tSpawned)
  add('toExitCb', tExit - t2)
  add('exitCb', tExitEnd - tExit)
  add('toExited', t3 - tExitEnd)
  add('total', t3 - t0)
  return { ms: t3 - t0 }
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line === '') continue
  const req = JSON.parse(line) as { cmd: string }
  process.stdout.write(JSON.stringify(await run(req.cmd)) + '\n')
}
const median = (xs: number[]): string => ([...xs].sort((a, b) => a - b)[xs.length >> 1] * 1000).toFixed(0)
process.stderr.write(
  `${nocg ? 'no cgroup' : 'cgroup'}: ${Object.entries(phases)
    .map(([k, v]) => `${k} ${median(v)}`)
    .join(' ')} µs\n`,
)
await sup.close()
