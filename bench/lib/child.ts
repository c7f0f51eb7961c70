/**
 * Runs one bench script in a fresh Node process and returns the JSON it prints last.
 * Workloads whose state must not leak into the next measurement (a parent holding
 * GiBs of memory, a burst of 1,000 processes and their fds) each get their own process.
 */
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { BENCH_DIR } from './build.js'

/**
 * The flags that make Node run TypeScript here: the ones tsx gave this process when it
 * started it, or tsx's loader when the bench was started some other way.
 */
function tsFlags(): string[] {
  return process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : ['--import', 'tsx']
}

/** The hard RLIMIT_NOFILE of this process (Node raises its soft limit to it at start-up). */
function hardNofile(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'))
  const hard = line?.split(/\s{2,}/)[2]
  return hard === undefined || hard === 'unlimited' ? Infinity : Number(hard)
}

export interface ChildOptions {
  /** Extra Node flags, such as --max-old-space-size. */
  nodeFlags?: string[]
  /**
   * Open files the child needs. When the hard limit is lower, the child is started
   * through prlimit(1) with this limit (raising a hard limit needs root or
   * CAP_SYS_RESOURCE; without it prlimit fails and says so).
   */
  nofile?: number
  /** Without the privilege to raise the hard limit, run with the limit there is instead of failing. */
  nofileBestEffort?: boolean
  /** Give up (SIGKILL) after this long. */
  timeoutMs: number
}

/** Whether prlimit may raise this process tree's hard RLIMIT_NOFILE to n (needs CAP_SYS_RESOURCE). */
function canRaiseNofile(n: number): boolean {
  return spawnSync('prlimit', [`--nofile=${n}:${n}`, '--', 'true'], { stdio: 'ignore' }).status === 0
}

export async function runScript<T>(script: string, args: string[], opts: ChildOptions): Promise<T> {
  let file = process.execPath
  let argv = [...tsFlags(), ...(opts.nodeFlags ?? []), path.join(BENCH_DIR, script), ...args]
  if (
    opts.nofile !== undefined &&
    hardNofile() < opts.nofile &&
    !(opts.nofileBestEffort === true && !canRaiseNofile(opts.nofile))
  ) {
    argv = [`--nofile=${opts.nofile}:${opts.nofile}`, '--', file, ...argv]
    file = 'prlimit'
  }
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'inherit'], cwd: BENCH_DIR })
  const chunks: Buffer[] = []
  child.stdout.on('data', (c: Buffer) => chunks.push(c))
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (c, s) => resolve([c, s]))
  }).finally(() => clearTimeout(timer))
  const out = Buffer.concat(chunks).toString().trim().split('\n')
  if (code !== 0)
    throw new Error(`${script} ${args.join(' ')} ended with ${code ?? signal}: ${out.slice(-5).join('\n')}`)
  return JSON.parse(out[out.length - 1] ?? 'null') as T
}

export interface Service<T> {
  /** The first JSON line the script printed. */
  info: T
  pid: number
  /** Closes the script's stdin (its signal to stop) and waits for it to exit. */
  stop(): Promise<void>
}

/** Starts a long-running bench script (a server) and waits for its first JSON line. */
export async function startScript<T>(script: string, args: string[], opts: ChildOptions): Promise<Service<T>> {
  const argv = [...tsFlags(), ...(opts.nodeFlags ?? []), path.join(BENCH_DIR, script), ...args]
  const child = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'], cwd: BENCH_DIR })
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const info = await new Promise<T>((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error(`${script} did not start in ${opts.timeoutMs} ms`)), opts.timeoutMs)
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      text += chunk
      const nl = text.indexOf('\n')
      if (nl < 0) return
      clearTimeout(timer)
      resolve(JSON.parse(text.slice(0, nl)) as T)
    })
    child.once('close', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)))
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL')
    throw err
  })
  return {
    info,
    pid: child.pid ?? 0,
    async stop() {
      child.stdin.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}
