/**
 * Bun as a contender: `Bun.spawn` doing the same work, in a Bun process of its own
 * (bench/bun/worker.mjs, a WorkerPeer) that the bench drives one request at a time, so
 * that its runs interleave with the Node contenders' and see the same background load.
 *
 * The binary comes from the `bun` devDependency. Its postinstall only moves the binary
 * of the platform package (`@oven/bun-linux-x64`, an optional dependency of `bun`) over
 * the placeholder `bun/bin/bun.exe`; npm 11 runs no dependency's install script until
 * it is approved, so the platform package is looked at first and the placeholder (a
 * shell script that prints an error) only if it is a real binary.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, openSync, readSync, closeSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { BENCH_DIR } from './build.js'
import { WorkerPeer } from './worker-peer.js'

const require = createRequire(import.meta.url)

function isElf(file: string): boolean {
  const fd = openSync(file, 'r')
  try {
    const head = Buffer.alloc(4)
    return readSync(fd, head, 0, 4, 0) === 4 && head.toString('latin1') === '\x7fELF'
  } finally {
    closeSync(fd)
  }
}

function packageDir(name: string): string | null {
  try {
    return path.dirname(require.resolve(`${name}/package.json`))
  } catch {
    return null
  }
}

/** Path of a working Bun binary, or null with the reason. */
export function findBun(): { bin: string; version: string } | { bin: null; reason: string } {
  const arch = process.arch === 'arm64' ? 'aarch64' : process.arch
  const candidates: string[] = []
  for (const flavour of ['', '-baseline', '-musl', '-musl-baseline']) {
    const dir = packageDir(`@oven/bun-linux-${arch}${flavour}`)
    if (dir !== null) candidates.push(path.join(dir, 'bin', 'bun'))
  }
  const main = packageDir('bun')
  if (main !== null) candidates.push(path.join(main, 'bin', 'bun.exe'))
  if (process.env.BUN_BIN) candidates.unshift(process.env.BUN_BIN)
  for (const bin of candidates) {
    if (!existsSync(bin) || !isElf(bin)) continue
    try {
      // A binary built for a newer CPU (AVX2) dies of SIGILL here rather than mid-run.
      const version = execFileSync(bin, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim()
      return { bin, version }
    } catch {
      continue
    }
  }
  return {
    bin: null,
    reason:
      main === null
        ? 'the bun package is not installed (npm ci)'
        : `no runnable Bun binary among ${candidates.join(', ')}`,
  }
}

export type BunPeer = WorkerPeer
export type BunBurst = import('./worker-peer.js').WorkerBurst

/** Null (with the reason logged) when no Bun binary works here. */
export function startBun(log: (msg: string) => void): BunPeer | null {
  const found = findBun()
  if (found.bin === null) {
    log(`Bun left out: ${found.reason}`)
    return null
  }
  return new WorkerPeer('Bun', found.version, found.bin, [path.join(BENCH_DIR, 'bun', 'worker.mjs')])
}

/**
 * sandproc (cgroups on) in a Node process of its own, as Bun runs in its own: the
 * like-for-like peer of `Bun.spawn`, free of the in-process contenders' forks and GC.
 * `cgroupParent`: where it makes its cgroups (v2; see lib/shape.ts).
 */
export function startOwnSandproc(cgroupParent?: string): WorkerPeer {
  const env = cgroupParent === undefined ? process.env : { ...process.env, OWN_CGROUP_PARENT: cgroupParent }
  return new WorkerPeer(
    'sandproc',
    process.version,
    process.execPath,
    ['--import', 'tsx', path.join(BENCH_DIR, 'spawn/own-worker.ts')],
    env,
  )
}
