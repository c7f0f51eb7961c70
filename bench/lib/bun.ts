/**
 * Bun as a contender: `Bun.spawn` doing the same work, in a Bun process of its own
 * (bench/bun/worker.mjs) that the bench drives one request at a time, so that its
 * runs interleave with the Node contenders' and see the same background load.
 *
 * The binary comes from the `bun` devDependency. Its postinstall only moves the binary
 * of the platform package (`@oven/bun-linux-x64`, an optional dependency of `bun`) over
 * the placeholder `bun/bin/bun.exe`; npm 11 runs no dependency's install script until
 * it is approved, so the platform package is looked at first and the placeholder (a
 * shell script that prints an error) only if it is a real binary.
 */
import { spawn, type ChildProcessWithoutNullStreams, execFileSync } from 'node:child_process'
import { existsSync, openSync, readSync, closeSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { BENCH_DIR } from './build.js'

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
      const version = execFileSync(bin, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
      return { bin, version }
    } catch {
      continue
    }
  }
  return { bin: null, reason: main === null ? 'the bun package is not installed (npm ci)' : `no runnable Bun binary among ${candidates.join(', ')}` }
}

export interface BunBurst {
  spawnAllMs: number
  maxLoopDelayMs: number
}

/** A running worker: one request at a time, answers timed inside Bun. */
export class BunPeer {
  readonly version: string
  private readonly child: ChildProcessWithoutNullStreams
  private buffered = ''
  private waiting: ((line: string) => void) | null = null
  private readonly exited: Promise<void>

  private constructor(bin: string, version: string) {
    this.version = version
    this.child = spawn(bin, [path.join(BENCH_DIR, 'bun', 'worker.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stderr.pipe(process.stderr)
    this.child.stdout.setEncoding('utf8')
    this.child.stdout.on('data', (chunk: string) => {
      this.buffered += chunk
      for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
        const line = this.buffered.slice(0, nl)
        this.buffered = this.buffered.slice(nl + 1)
        const w = this.waiting
        this.waiting = null
        w?.(line)
      }
    })
    this.exited = new Promise((resolve) => this.child.once('close', () => resolve()))
  }

  /** Null (with the reason logged) when no Bun binary works here. */
  static start(log: (msg: string) => void): BunPeer | null {
    const found = findBun()
    if (found.bin === null) {
      log(`Bun left out: ${found.reason}`)
      return null
    }
    return new BunPeer(found.bin, found.version)
  }

  private async request<T>(req: object): Promise<T> {
    if (this.waiting !== null) throw new Error('BunPeer: one request at a time')
    const line = new Promise<string>((resolve, reject) => {
      this.waiting = resolve
      this.exited.then(() => reject(new Error('the Bun worker exited')))
    })
    this.child.stdin.write(JSON.stringify(req) + '\n')
    const out = JSON.parse(await line) as T & { error?: string }
    if (out.error !== undefined) throw new Error(`Bun worker: ${out.error}`)
    return out
  }

  /** One start→exit, in ms as Bun measured it. */
  async run(cmd: string, args: readonly string[] = []): Promise<number> {
    return (await this.request<{ ms: number }>({ op: 'run', cmd, args })).ms
  }

  burst(cmd: string, arg: string, n: number): Promise<BunBurst> {
    return this.request<BunBurst>({ op: 'burst', cmd, arg, n })
  }

  async close(): Promise<void> {
    this.child.stdin.end()
    await this.exited
  }
}
