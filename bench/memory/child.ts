/**
 * Workload 2, inside a fresh Node process: hold memory, then time /bin/true with every
 * contender interleaved, then sandproc alone. Run by workload.ts once per size so that
 * no size inherits another's heap. Prints one JSON line: { rssMiB, heapMiB, samples, alone }.
 *
 * Why "alone": after a fork, every page of the parent is write-protected until its next
 * write fault, so whatever the parent does right after a child_process spawn pays for
 * that fork. Interleaved, sandproc's samples at 2 GiB carry about half a millisecond of
 * child_process's cost; alone they show sandproc's own.
 *
 * usage: memory/child.ts buffers|heap GIB QUICK(0|1)
 */
import { childProcessRunner, execaRunner } from '../lib/peers.js'
import type { Runner } from '../lib/runner.js'
import { sandprocRunner } from '../lib/sandproc.js'
import { interleave } from '../lib/stats.js'

const [kind, gibArg, quickArg] = process.argv.slice(2)
const gib = Number(gibArg)
const quick = quickArg === '1'
if ((kind !== 'buffers' && kind !== 'heap') || !Number.isFinite(gib)) {
  throw new TypeError('usage: memory/child.ts buffers|heap GIB QUICK')
}

const held: unknown[] = []
const MiB = 2 ** 20

if (kind === 'buffers') {
  // allocUnsafe + fill: Buffer.alloc's zeroed pages may stay untouched (calloc on a fresh
  // mmap), and an untouched page costs fork nothing; these pages are all written.
  for (let i = 0; i < gib * 16; i++) held.push(Buffer.allocUnsafe(64 * MiB).fill(i & 0xff))
} else {
  // Plain arrays of doubles live on the V8 heap (typed arrays would be off-heap like
  // Buffers): 8 bytes per element, 1 Mi elements per array.
  for (let i = 0; i < gib * 128; i++) held.push(new Array<number>(MiB).fill(i + 0.5))
}

const sandproc = await sandprocRunner()
// Without its cgroup too, when there is one: joining a v1 cgroup can wait for an RCU
// grace period (see spawn/workload.ts), and slow forks in between make that likely.
const sandprocNoCg = sandproc.cgroup === 'none' ? null : await sandprocRunner({ cgroup: false })
const runners: Record<string, Runner> = {
  sandproc,
  ...(sandprocNoCg === null ? {} : { sandproc_nocg: sandprocNoCg }),
  child_process: childProcessRunner,
  execa: execaRunner,
}
const contenders = Object.entries(runners).map(([name, r]) => ({ name, op: () => r.run('/bin/true', []) }))
// Half of the sandproc-alone samples before the interleaved ones and half after, so that
// neither set alone sits in a quieter or noisier stretch of a shared machine.
const aloneHalf = async (): Promise<number[]> =>
  (
    await interleave([{ name: 'sandproc', op: () => sandproc.run('/bin/true', []) }], {
      warmup: 3,
      rounds: quick ? 20 : 75,
      budgetMs: quick ? 250 : 1_500,
      minRounds: 8,
    })
  ).sandproc
const alone = await aloneHalf()
const samples = await interleave(contenders, {
  warmup: 3,
  rounds: quick ? 40 : 150,
  budgetMs: quick ? 600 : 8_000,
  // At 2 GiB a child_process round costs a few hundred ms on a loaded machine.
  minRounds: quick ? 5 : 10,
})
alone.push(...(await aloneHalf()))
await sandproc.close()
await sandprocNoCg?.close()

const mem = process.memoryUsage()
process.stdout.write(
  JSON.stringify({
    rssMiB: Math.round(mem.rss / MiB),
    heapMiB: Math.round(mem.heapUsed / MiB),
    held: held.length,
    samples,
    alone,
  }) + '\n',
)
