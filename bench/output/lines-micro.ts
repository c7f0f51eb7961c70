/**
 * Microbenchmark of LineSplitter alone: the output of `seq 1 2000000` fed in 64 KiB
 * chunks, as a pipe delivers it. Run: `npx tsx bench/output/lines-micro.ts [lines] [rounds]`.
 */
import { LineSplitter } from '../../src/core/lines.js'

const count = Number(process.argv[2] ?? 2_000_000)
const rounds = Number(process.argv[3] ?? 5)
const CHUNK = 64 * 1024

let text = ''
for (let i = 1; i <= count; i++) text += `${i}\n`
const data = Buffer.from(text)

// One reused buffer, like a stream's read buffer, so the splitter has to copy its tail.
const chunk = Buffer.allocUnsafe(CHUNK)

function once(): { lines: number; ms: number } {
  const splitter = new LineSplitter()
  let lines = 0
  let chars = 0
  const emit = (line: string): void => {
    lines++
    chars += line.length
  }
  const t0 = process.hrtime.bigint()
  for (let off = 0; off < data.length; off += CHUNK) {
    const n = data.copy(chunk, 0, off, off + CHUNK)
    splitter.push(n === CHUNK ? chunk : chunk.subarray(0, n), emit)
  }
  splitter.end(emit)
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (lines !== count || chars + lines !== data.length) throw new Error(`wrong split: ${lines} lines`)
  return { lines, ms }
}

once() // warm-up: let the JIT settle before measuring
const rates: number[] = []
for (let r = 0; r < rounds; r++) {
  const { lines, ms } = once()
  rates.push(lines / (ms / 1000))
}
rates.sort((a, b) => a - b)
const fmt = (x: number): string => `${(x / 1e6).toFixed(2)} M lines/s`
console.log(
  `${count} lines, ${(data.length / 1e6).toFixed(1)} MB, ${rounds} rounds: median ${fmt(rates[rates.length >> 1])} (min ${fmt(rates[0])}, max ${fmt(rates[rates.length - 1])})`,
)
