/**
 * Workload 6, inside a fresh Node process: PTY sessions, sandproc against node-pty.
 * Holds GIB of touched Buffers, then times spawn→exit of /bin/true on a terminal
 * (interleaved); with `all`, also the throughput of `seq 1 2000000` through the terminal
 * and the tail loss of RUNS programs writing 60 KB and exiting (bytes not delivered
 * by the exit event). Prints one JSON line.
 *
 * usage: pty/child.ts GIB QUICK(0|1) spawn|all FILE60K
 */
import { createRequire } from 'node:module'

import { Supervisor } from '../../src/index.js'
import { interleave } from '../lib/stats.js'

interface NodePty {
  spawn(
    file: string,
    args: string[],
    opts: Record<string, unknown>,
  ): {
    onData(cb: (d: Buffer | string) => void): void
    onExit(cb: (e: { exitCode: number; signal?: number }) => void): void
  }
}

const [gibArg, quickArg, part, file60k] = process.argv.slice(2)
const gib = Number(gibArg)
const quick = quickArg === '1'
const MiB = 2 ** 20
const held: Buffer[] = []
for (let i = 0; i < gib * 16; i++) held.push(Buffer.allocUnsafe(64 * MiB).fill(i & 0xff))

let nodePty: NodePty | null = null
let nodePtyError: string | null = null
try {
  nodePty = createRequire(import.meta.url)('node-pty') as NodePty
} catch (err) {
  nodePtyError = err instanceof Error ? err.message : String(err)
}

const sup = new Supervisor()
const env = { TERM: 'xterm-256color', PATH: process.env.PATH ?? '/usr/bin:/bin' }

/** Runs one program on a terminal; resolves with the bytes received by the exit event. */
function sandproc(cmd: string, args: string[]): Promise<number> {
  const s = sup.pty({ command: cmd, args, env })
  let bytes = 0
  s.on('data', (b: Buffer) => (bytes += b.length))
  return s.exited.then(() => bytes)
}

function nodepty(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    // encoding null: Buffers, the same bytes-not-strings work as sandproc's.
    const p = (nodePty as NodePty).spawn(cmd, args, { name: 'xterm-256color', cols: 80, rows: 24, env, encoding: null })
    let bytes = 0
    p.onData((d) => (bytes += d.length))
    p.onExit(() => resolve(bytes))
  })
}

const contenders = [
  { name: 'sandproc' as const, op: async () => void (await sandproc('/bin/true', [])) },
  ...(nodePty === null ? [] : [{ name: 'node_pty' as const, op: async () => void (await nodepty('/bin/true', [])) }]),
]
// sandproc alone as well (half before, half after the interleaved rounds): after each of
// node-pty's forks every page of this 2 GiB parent is write-protected, and whatever runs
// next pays the faults (see memory/child.ts); alone shows sandproc's own cost.
const aloneHalf = async (): Promise<number[]> =>
  (
    await interleave([contenders[0]], {
      warmup: 3,
      rounds: quick ? 20 : 75,
      budgetMs: quick ? 500 : 2_000,
      minRounds: 8,
    })
  ).sandproc
const alone = await aloneHalf()
const spawn = await interleave(contenders, {
  warmup: 5,
  rounds: quick ? 40 : 150,
  budgetMs: quick ? 1_500 : 10_000,
  minRounds: 10,
})
alone.push(...(await aloneHalf()))

const out: Record<string, unknown> = { gib, nodePtyError, spawn, alone }
if (part === 'all') {
  const seq = await interleave(
    [
      { name: 'sandproc' as const, op: async () => void (await sandproc('seq', ['1', '2000000'])) },
      ...(nodePty === null
        ? []
        : [{ name: 'node_pty' as const, op: async () => void (await nodepty('seq', ['1', '2000000'])) }]),
    ],
    { warmup: 1, rounds: quick ? 3 : 8, budgetMs: quick ? 10_000 : 60_000, minRounds: 3 },
  )
  const runs = quick ? 200 : 1000
  const tail: Record<string, number[]> = { sandproc: [], node_pty: [] }
  for (let i = 0; i < runs; i++) {
    tail.sandproc.push(60_000 - (await sandproc('head', ['-c', '60000', file60k])))
    if (nodePty !== null) tail.node_pty.push(60_000 - (await nodepty('head', ['-c', '60000', file60k])))
  }
  Object.assign(out, { seq, tail })
}
await sup.close()
process.stdout.write(`${JSON.stringify({ ...out, held: held.length })}\n`)
