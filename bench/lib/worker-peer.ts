/**
 * A contender in a process of its own (Bun, or sandproc alone), driven one request at a
 * time over stdin/stdout so that its runs interleave with the in-process contenders'
 * and see the same background load, and timed inside that process, so the pipe to the
 * bench is not in the figure. One JSON request a line, one JSON answer a line
 * (bench/bun/worker.mjs and bench/spawn/own-worker.ts speak the same protocol).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'

export interface WorkerBurst {
  spawnAllMs: number
  maxLoopDelayMs: number
}

export class WorkerPeer {
  private readonly child: ChildProcessWithoutNullStreams
  private buffered = ''
  private waiting: ((line: string) => void) | null = null
  private readonly exited: Promise<void>

  constructor(
    readonly name: string,
    readonly version: string,
    bin: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.child = spawn(bin, [...args], { stdio: ['pipe', 'pipe', 'pipe'], env })
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

  private async request<T>(req: object): Promise<T> {
    if (this.waiting !== null) throw new Error(`${this.name} worker: one request at a time`)
    const line = new Promise<string>((resolve, reject) => {
      this.waiting = resolve
      this.exited.then(() => reject(new Error(`the ${this.name} worker exited`)))
    })
    this.child.stdin.write(JSON.stringify(req) + '\n')
    const out = JSON.parse(await line) as T & { error?: string }
    if (out.error !== undefined) throw new Error(`${this.name} worker: ${out.error}`)
    return out
  }

  /** Any other request of a worker that knows it (bench/observability/worker.ts: `{"op":"cpu"}`). */
  ask<T>(op: string): Promise<T> {
    return this.request<T>({ op })
  }

  /** One start→exit, in ms as the worker measured it. */
  async run(cmd: string, args: readonly string[] = []): Promise<number> {
    return (await this.request<{ ms: number }>({ op: 'run', cmd, args })).ms
  }

  burst(cmd: string, arg: string, n: number): Promise<WorkerBurst> {
    return this.request<WorkerBurst>({ op: 'burst', cmd, arg, n })
  }

  async close(): Promise<void> {
    this.child.stdin.end()
    await this.exited
  }
}
