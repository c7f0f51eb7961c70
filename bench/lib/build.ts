/**
 * Artifacts the bench makes on the spot, in bench/.build/ (gitignored): the C floor,
 * the static no-op and the 200 MB line file. Built per run because they depend on
 * the machine's compiler and libc, and a checked-in binary would prove nothing.
 */
import { execFile } from 'node:child_process'
import { createWriteStream, mkdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const execFileP = promisify(execFile)

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url))
export const BUILD_DIR = path.join(BENCH_DIR, '.build')

export interface Artifacts {
  floor: string
  burstFloor: string
  noop: string
}

async function cc(args: string[]): Promise<void> {
  const compiler = process.env.CC ?? 'cc'
  try {
    await execFileP(compiler, args)
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`${compiler} ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: err })
  }
}

export async function buildArtifacts(): Promise<Artifacts> {
  mkdirSync(BUILD_DIR, { recursive: true })
  const floor = path.join(BUILD_DIR, 'spawn_floor')
  const burstFloor = path.join(BUILD_DIR, 'burst_floor')
  const noop = path.join(BUILD_DIR, 'noop')
  await cc(['-O2', '-Wall', '-Wextra', '-o', floor, path.join(BENCH_DIR, 'c', 'spawn_floor.c')])
  await cc(['-O2', '-Wall', '-Wextra', '-o', burstFloor, path.join(BENCH_DIR, 'c', 'burst_floor.c')])
  await cc(['-O2', '-Wall', '-Wextra', '-static', '-nostdlib', '-o', noop, path.join(BENCH_DIR, 'c', 'noop.c')])
  // For bench/spawn/cgroup-join.ts in the v2 VM: the cgroup.procs fallback of a refused clone3.
  await cc([
    '-O2',
    '-Wall',
    '-Wextra',
    '-o',
    path.join(BUILD_DIR, 'no_clone3'),
    path.join(BENCH_DIR, 'c', 'no_clone3.c'),
  ])
  // A no-op that fails to exit 0 would make every later figure meaningless.
  await execFileP(noop)
  return { floor, burstFloor, noop }
}

/** Runs the C burst floor: N concurrent `program arg` started back to back from C. */
export async function runBurstFloor(
  burstFloor: string,
  program: string,
  arg: string,
  n: number,
): Promise<{ spawnAllMs: number; lastExitLagMs: number }> {
  const { stdout } = await execFileP(burstFloor, [program, arg, String(n)])
  return JSON.parse(stdout) as { spawnAllMs: number; lastExitLagMs: number }
}

/**
 * Runs the C floor: `n` posix_spawn+waitpid of `program`, one sample (ms) per spawn.
 * With `pipes`, the child also gets stdout/stderr pipes that are read to EOF.
 */
export async function runFloor(floor: string, program: string, n: number, pipes = false): Promise<number[]> {
  const args = [...(pipes ? ['-p'] : []), program, String(n)]
  const { stdout } = await execFileP(floor, args, { maxBuffer: 64 * 1024 * 1024 })
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => Number(l) / 1000)
}

export const LINE_BYTES = 100

/** Bytes `seq 1 n` prints: each number's digits plus a newline. */
export function seqBytes(n: number): number {
  let bytes = 0
  for (let digits = 1, lo = 1; lo <= n; digits++, lo *= 10) bytes += (Math.min(n, lo * 10 - 1) - lo + 1) * (digits + 1)
  return bytes
}

/**
 * A file of `lines` lines of exactly 100 bytes each (99 characters and `\n`), reused
 * when it already has the right size. Each line starts with its number so that a
 * consumer that lost or merged lines would be visible when debugging.
 */
export async function lineFile(lines: number): Promise<string> {
  mkdirSync(BUILD_DIR, { recursive: true })
  const file = path.join(BUILD_DIR, `lines-${lines}x${LINE_BYTES}.txt`)
  try {
    if (statSync(file).size === lines * LINE_BYTES) return file
  } catch {
    // Not made yet.
  }
  const filler = 'x'.repeat(LINE_BYTES)
  const out = createWriteStream(file)
  const perChunk = 10_000
  for (let i = 0; i < lines; i += perChunk) {
    let chunk = ''
    for (let j = i; j < Math.min(lines, i + perChunk); j++) {
      const head = String(j).padStart(10, '0') + ' '
      chunk += head + filler.slice(0, LINE_BYTES - 1 - head.length) + '\n'
    }
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
  return file
}
