/**
 * Workloads 3 and 6, inside a fresh Node process: one burst of N concurrent `sleep S`
 * with one contender. A process per burst keeps fd counts and event-loop figures clean
 * and lets the parent kill everything if a burst hangs. Prints one JSON line
 * (BurstReport).
 *
 * usage: burst/child.ts sandproc|sandproc_nocg|child_process|execa N [S [tolerate]]
 *   tolerate: a launch that fails (EMFILE past the fd limit, EAGAIN past the pid limit)
 *   is counted by its code instead of ending the burst (W6 runs into the fd limit).
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { childProcessRunner, execaRunner } from '../lib/peers.js'
import { type Runner, which } from '../lib/runner.js'

export interface BurstReport {
  /** From the first launch to the last start event. */
  spawnAllMs: number
  /** How long the launching loop itself held the event loop. */
  loopMs: number
  /**
   * From the common deadline to the last exit event. Every `sleep 1` has started by the
   * last start event (a contender that spawns off the JS thread starts them after its
   * launching loop), so the deadline is one second after the later of the two.
   */
  lastExitLagMs: number
  maxLoopDelayMs: number
  fdsPerProcess: number
  /** Resident memory of this process when all had started, less before, per process. */
  rssPerProcessKiB: number
  /** sandproc: from the last exit event to close() done (every cgroup removed). */
  closeMs?: number
  /** sandproc: this process's cgroup directories still there after close() (must be 0). */
  cgroupsLeft?: number
  /** How many of the N started; the others failed (tolerate mode only). */
  started: number
  /** Failed launches by error code (tolerate mode only). */
  failures: Record<string, number>
  /** Soft/hard RLIMIT_NOFILE this burst ran with. */
  nofile: string
}

const softNofile = Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Infinity)

/** Open fds; at the limit, reading /proc/self/fd itself fails (EMFILE): then all of them. */
function countFds(): number {
  try {
    return readdirSync('/proc/self/fd').length
  } catch (err) {
    if ((err as { code?: string }).code === 'EMFILE') return softNofile
    throw err
  }
}

async function burst(runner: Runner, n: number, seconds: number, tolerate: boolean): Promise<BurstReport> {
  const sleep = which('sleep')
  const kills: (() => void)[] = []
  const exited = new Set<number>()
  let started = 0
  let failed = 0
  const failedSet = new Set<number>()
  const failures: Record<string, number> = {}
  let lastStart = 0
  let lastExit = 0
  let fdsAtAllStarted = 0
  let rssAtAllStarted = 0
  let fail: (err: Error) => void = () => {}
  let finish: () => void = () => {}
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve
    fail = reject
  })
  // Generous: a loaded 2-core machine starts 10,000 in minutes, not seconds.
  const limitS = seconds + 60 + Math.ceil(n / 20)
  const timer = setTimeout(() => fail(new Error(`burst of ${n} did not finish in ${limitS} s`)), limitS * 1000)

  const eld = monitorEventLoopDelay({ resolution: 1 })
  const baselineFds = countFds()
  const baselineRss = process.memoryUsage.rss()
  // Enabled before the launching loop, so the loop's own blocking counts as delay. The
  // histogram records nothing until its timer has fired once, hence the short wait.
  eld.enable()
  await new Promise((resolve) => setTimeout(resolve, 20))
  const t0 = performance.now()
  try {
    const allStarted = (): void => {
      if (started + failed !== n) return
      lastStart = performance.now()
      fdsAtAllStarted = countFds()
      rssAtAllStarted = process.memoryUsage.rss()
    }
    const ended = (i: number): void => {
      if (exited.has(i)) return
      exited.add(i)
      if (exited.size === n) {
        lastExit = performance.now()
        finish()
      }
    }
    const failedLaunch = (i: number, err: Error): void => {
      if (!tolerate) return fail(err)
      // child_process may also emit 'close' for a launch that failed: count it once.
      if (failedSet.has(i)) return
      failedSet.add(i)
      const code = (err as Error & { code?: string }).code ?? 'unknown'
      failures[code] = (failures[code] ?? 0) + 1
      failed++
      allStarted()
      ended(i)
    }
    for (let i = 0; i < n; i++) {
      try {
        kills.push(
          runner.launch(sleep, [String(seconds)], {
            onStart: () => {
              started++
              allStarted()
            },
            onExit: () => ended(i),
            onError: (err) => failedLaunch(i, err),
          }),
        )
      } catch (err) {
        kills.push(() => {})
        failedLaunch(i, err as Error)
      }
    }
    const loopEnd = performance.now()
    // No exit can have been handled yet (the loop held the event loop), so every
    // process's pipes are still open here; for a contender whose start events arrive
    // later, the count at the last start event may be the higher one.
    const fdsAtLoopEnd = countFds()
    await done
    eld.disable()
    return {
      spawnAllMs: lastStart - t0,
      loopMs: loopEnd - t0,
      lastExitLagMs: lastExit - (Math.max(loopEnd, lastStart) + seconds * 1000),
      maxLoopDelayMs: eld.max / 1e6,
      fdsPerProcess: (Math.max(fdsAtLoopEnd, fdsAtAllStarted) - baselineFds) / Math.max(1, started),
      rssPerProcessKiB: (rssAtAllStarted - baselineRss) / 1024 / Math.max(1, started),
      started,
      failures,
      nofile:
        readFileSync('/proc/self/limits', 'utf8')
          .split('\n')
          .find((l) => l.startsWith('Max open files'))
          ?.split(/\s{2,}/)
          .slice(1, 3)
          .join('/') ?? '?',
    }
  } finally {
    clearTimeout(timer)
    // A failed burst must not leave 1,000 processes behind.
    kills.forEach((kill, i) => exited.has(i) || kill())
  }
}

async function pick(name: string | undefined): Promise<Runner> {
  if (name === 'child_process') return childProcessRunner
  if (name === 'execa') return execaRunner
  // sandproc (and its addon) is loaded only for its own bursts: the peers' processes
  // should not carry it.
  if (name === 'sandproc') return (await import('../lib/sandproc.js')).sandprocRunner()
  if (name === 'sandproc_nocg') return (await import('../lib/sandproc.js')).sandprocRunner({ cgroup: false })
  throw new TypeError(`burst/child: unknown contender ${name}`)
}

/** This process's per-supervisor cgroup directories (`s<pid>-<random>`), anywhere under /sys/fs/cgroup. */
function ownCgroupDirs(): number {
  // Other supervisors (the bench's own) remove cgroups while find walks the tree, which
  // makes it exit non-zero: its output is still the answer for our own directories.
  const r = spawnSync('find', ['/sys/fs/cgroup', '-maxdepth', '8', '-type', 'd', '-name', `s${process.pid}-*`], {
    encoding: 'utf8',
  })
  return r.stdout.split('\n').filter(Boolean).length
}

const [name, nArg, sArg, mode] = process.argv.slice(2)
const n = Number(nArg)
const seconds = Number(sArg ?? 1)
if (!Number.isInteger(n) || n <= 0) throw new TypeError(`burst/child: bad count ${nArg}`)
if (!(seconds > 0)) throw new TypeError(`burst/child: bad sleep ${sArg}`)
const runner = await pick(name)
let report: BurstReport
const lastExitAt = { t: 0 }
try {
  report = await burst(runner, n, seconds, mode === 'tolerate')
} finally {
  const t = performance.now()
  await runner.close()
  lastExitAt.t = performance.now() - t
}
if (name?.startsWith('sandproc')) {
  // close() removes every cgroup; how long that takes after the last exit is part of W6.
  report.closeMs = lastExitAt.t
  report.cgroupsLeft = ownCgroupDirs()
}
process.stdout.write(JSON.stringify(report) + '\n')
