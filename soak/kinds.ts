/**
 * The mix of runs the soak repeats: clean exits, signals, timeouts, spawn failures of
 * several kinds, stdin pipes, kills, process trees, other users, memory limits, refused
 * requests and small floods. Each kind knows how it must end; the soak counts every run
 * that ends otherwise.
 */
import type { Supervisor } from '../src/index.js'
import type { SupervisedProcess } from '../src/core/process.js'
import type { ExitEvent } from '../src/types.js'

/** How a run ended, reduced to what the soak checks. */
export type Outcome =
  | { exit_code: number; timed_out?: true; lines?: number }
  | { signal: number; timed_out?: true; lines?: number }
  | { error: string; syscall?: string }

export interface Kind {
  name: string
  run(sup: Supervisor, i: number): Promise<Outcome>
  expect(i: number): Outcome
}

interface KindContext {
  /** The flood helper (test/fixtures/hardening/flood.c), compiled. */
  flood: string
  /** Whether the supervisor has a memory cgroup, so memory_limit works. */
  cgroup: boolean
  /** Whether this process may change users. */
  root: boolean
  /** A file without execute permission. */
  noExec: string
  /** An executable file in no executable format (no shebang). */
  badFormat: string
}

function ending(e: ExitEvent, lines?: number): Outcome {
  const out: Outcome = e.exit_code !== undefined ? { exit_code: e.exit_code } : { signal: e.signal ?? -1 }
  if (e.timed_out === true) out.timed_out = true
  if (lines !== undefined) out.lines = lines
  return out
}

/** Waits for the process and reduces it to an Outcome; a spawn failure becomes { error, syscall }. */
async function outcome(proc: SupervisedProcess, countLines = false): Promise<Outcome> {
  let lines = 0
  if (countLines) proc.on('output', () => lines++)
  try {
    const exit = await proc.exited
    return ending(exit, countLines ? lines : undefined)
  } catch (err) {
    const e = err as { code?: string; syscall?: string }
    return e.syscall === undefined ? { error: String(e.code) } : { error: String(e.code), syscall: e.syscall }
  }
}

export function kinds(ctx: KindContext): Kind[] {
  return [
    {
      name: 'exit code with output',
      run: (sup, i) =>
        outcome(sup.run({ command: 'sh', args: ['-c', `echo out ${i}; echo err >&2; exit ${i % 7}`] }), true),
      expect: (i) => ({ exit_code: i % 7, lines: 2 }),
    },
    { name: 'true', run: (sup) => outcome(sup.run({ command: 'true' })), expect: () => ({ exit_code: 0 }) },
    {
      name: 'killed by SIGTERM',
      run: (sup) => outcome(sup.run({ command: 'sh', args: ['-c', 'kill -TERM $$'] })),
      expect: () => ({ signal: 15 }),
    },
    {
      name: 'killed by SIGKILL (not OOM)',
      run: (sup) => outcome(sup.run({ command: 'sh', args: ['-c', 'kill -KILL $$'] })),
      expect: () => ({ signal: 9 }),
    },
    {
      name: 'timeout',
      run: (sup) => outcome(sup.run({ command: 'sleep', args: ['10'], timeout: 0.02 })),
      expect: () => ({ signal: 9, timed_out: true }),
    },
    {
      name: 'missing program',
      run: (sup) => outcome(sup.run({ command: 'sandproc-soak-no-such-program' })),
      expect: () => ({ error: 'ENOENT', syscall: 'execve' }),
    },
    {
      name: 'missing working_dir',
      run: (sup) => outcome(sup.run({ command: 'true', working_dir: '/nonexistent/sandproc-soak' })),
      expect: () => ({ error: 'ENOENT', syscall: 'chdir' }),
    },
    {
      name: 'not executable',
      run: (sup) => outcome(sup.run({ command: ctx.noExec })),
      expect: () => ({ error: 'EACCES', syscall: 'execve' }),
    },
    {
      name: 'no executable format',
      run: (sup) => outcome(sup.run({ command: ctx.badFormat })),
      expect: () => ({ error: 'ENOEXEC', syscall: 'execve' }),
    },
    {
      name: 'stdin pipe',
      run: async (sup, i) => {
        const proc = sup.start({ command: 'cat', stdin_mode: 'pipe' })
        await proc.started.catch(() => undefined)
        await proc.write(`line ${i}\nline 2\n`).catch(() => undefined)
        proc.closeStdin()
        return outcome(proc, true)
      },
      expect: () => ({ exit_code: 0, lines: 2 }),
    },
    {
      name: 'kill()',
      run: async (sup) => {
        const proc = sup.start({ command: 'sleep', args: ['100'] })
        await proc.started.catch(() => undefined)
        proc.kill()
        return outcome(proc)
      },
      expect: () => ({ signal: 9 }),
    },
    {
      name: 'tree left behind',
      run: (sup) => outcome(sup.run({ command: 'sh', args: ['-c', 'sleep 100 & sleep 100 & exit 3'] })),
      expect: () => ({ exit_code: 3 }),
    },
    {
      name: 'killTree() of a tree',
      run: async (sup) => {
        const proc = sup.start({ command: 'sh', args: ['-c', 'sleep 100 & echo up; wait'] })
        await new Promise<void>((resolve) => {
          proc.once('output', () => resolve())
          proc.exited.then(
            () => resolve(),
            () => resolve(),
          )
        })
        proc.killTree()
        return outcome(proc)
      },
      expect: () => ({ signal: 9 }),
    },
    {
      name: 'as nobody',
      run: (sup) => outcome(sup.run({ command: 'id', args: ['-u'], user: 'nobody', working_dir: '/' }), true),
      expect: () => (ctx.root ? { exit_code: 0, lines: 1 } : { error: 'EPERM', syscall: 'setgroups' }),
    },
    {
      name: 'memory_limit',
      run: (sup) => outcome(sup.run({ command: 'true', memory_limit: '64M' })),
      expect: () => (ctx.cgroup ? { exit_code: 0 } : { error: 'ENOTSUP', syscall: 'cgroup' }),
    },
    {
      name: 'refused request',
      run: async (sup) => {
        try {
          sup.run({ command: 'true', timeout: -1 })
          return { error: 'accepted' }
        } catch (err) {
          return { error: String((err as { code?: string }).code) }
        }
      },
      expect: () => ({ error: 'INVALID_REQUEST' }),
    },
    {
      name: 'small flood',
      run: (sup) => outcome(sup.run({ command: ctx.flood, args: ['lines', '1000000', '100'] }), true),
      expect: () => ({ exit_code: 0, lines: 10_000 }),
    },
  ]
}
