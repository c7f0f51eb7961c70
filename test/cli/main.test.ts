import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseRunArgs, parseServeArgs, UsageError } from '../../src/cli/args.js'
import { STATE_VERSION } from '../../src/handover/state.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** A running `sandproc` (through tsx) with its output collected as it comes. */
interface Cli {
  child: ChildProcess
  out: { stdout: string; stderr: string }
  /** Resolves with the match once `stream` shows `pattern`. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpExecArray>
  /** Resolves with the exit status (128 + signal number if killed). */
  exited: Promise<number>
}

function cli(args: string[], env: Record<string, string | undefined> = {}): Cli {
  return watch(
    spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, SANDPROC_TOKEN: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
}

function watch(child: ChildProcess): Cli {
  const out = { stdout: '', stderr: '' }
  const waiters: Array<() => void> = []
  for (const name of ['stdout', 'stderr'] as const) {
    child[name]!.setEncoding('utf8')
    child[name]!.on('data', (text: string) => {
      out[name] += text
      for (const wake of waiters.splice(0)) wake()
    })
  }
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : signalNumber(signal))))
  })
  const waitFor = async (stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpExecArray> => {
    for (;;) {
      const match = pattern.exec(out[stream])
      if (match !== null) return match
      const closed = await Promise.race([
        new Promise<false>((r) => waiters.push(() => r(false))),
        exited.then(() => true),
      ])
      if (closed && pattern.exec(out[stream]) === null) throw new Error(`exited without ${pattern}: ${out.stderr}`)
    }
  }
  return { child, out, waitFor, exited }
}

function signalNumber(signal: NodeJS.Signals): number {
  return { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal as string] ?? 0
}

async function finished(c: Cli): Promise<{ code: number; stdout: string; stderr: string }> {
  const code = await c.exited
  return { code, ...c.out }
}

function curl(args: string[]): Cli {
  return watch(spawn('curl', ['-sS', '-N', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }))
}

describe('argument parsing', () => {
  it('gives serve its defaults, SANDPROC_* variables and flags, flags first', () => {
    expect(parseServeArgs([], {})).toEqual({
      help: false,
      host: '127.0.0.1',
      port: 9501,
      token: undefined,
      allowNoAuth: false,
      console: true,
      maxProcesses: undefined,
      maxJsonBytes: undefined,
      maxStdinBytes: undefined,
      retainBytes: undefined,
      maxExited: undefined,
      lineLimit: undefined,
      memoryLimit: undefined,
      killGraceMs: undefined,
      keepAliveMs: undefined,
    })
    const env = {
      SANDPROC_HOST: '::1',
      SANDPROC_PORT: '8000',
      SANDPROC_TOKEN: 'from-env',
      SANDPROC_MAX_PROCESSES: '3',
      SANDPROC_MAX_BODY: '2M',
      SANDPROC_RETAIN: '1K',
      SANDPROC_RETAIN_HEAD: '2K',
      SANDPROC_KILL_GRACE: '0.5',
      SANDPROC_ALLOW_NO_AUTH: 'true',
    }
    expect(parseServeArgs(['--port', '9000', '--max-stdin=64k', '--memory-limit', '256M'], env)).toMatchObject({
      host: '::1',
      port: 9000,
      token: 'from-env',
      allowNoAuth: true,
      maxProcesses: 3,
      maxJsonBytes: 2 * 1024 * 1024,
      maxStdinBytes: 64 * 1024,
      retainBytes: 1024,
      retainHeadBytes: 2048,
      killGraceMs: 500,
      memoryLimit: '256M',
    })
    expect(parseServeArgs(['-h'])).toEqual({ help: true })
    expect(parseServeArgs(['--no-console'], {})).toMatchObject({ console: false })
    expect(parseServeArgs(['--max-stdin-queue', '48M'], {})).toMatchObject({ maxStdinQueueBytes: 48 * 1024 * 1024 })
    expect(parseServeArgs([], { SANDPROC_NO_CONSOLE: '1' })).toMatchObject({ console: false })
  })

  it('refuses bad serve flags with a UsageError', () => {
    for (const argv of [
      ['--port', 'x'],
      ['--port', '70000'],
      ['--bogus'],
      ['--max-body', '1X'],
      ['extra'],
      ['--token'],
    ]) {
      expect(() => parseServeArgs(argv, {})).toThrow(UsageError)
    }
  })

  it('splits run options from the command, with or without --', () => {
    expect(
      parseRunArgs(['--user', 'nobody', '--env', 'A=1', '--env=B=x=y', '--cwd', '/tmp', '--', 'ls', '-la']),
    ).toEqual({
      help: false,
      json: false,
      request: { command: 'ls', args: ['-la'], user: 'nobody', env: { A: '1', B: 'x=y' }, working_dir: '/tmp' },
    })
    expect(parseRunArgs(['--json', '--timeout', '1.5', '--memory-limit', '1048576', 'ls', '-la', '--json'])).toEqual({
      help: false,
      json: true,
      request: { command: 'ls', args: ['-la', '--json'], timeout: 1.5, memory_limit: 1048576 },
    })
    expect(
      parseRunArgs(['--timeout-grace', '0', '--idle-timeout', '2.5', '--merge', '--max-output', '1M', 'ls']),
    ).toEqual({
      help: false,
      json: false,
      request: {
        command: 'ls',
        args: [],
        timeout_grace: 0,
        idle_timeout: 2.5,
        stderr_mode: 'stdout',
        max_output_bytes: 1 << 20,
      },
    })
    for (const argv of [
      ['--idle-timeout', '0', 'true'],
      ['--timeout-grace', '-1', 'true'],
      ['--max-output', '0', 'true'],
    ]) {
      expect(() => parseRunArgs(argv)).toThrow(UsageError)
    }
    for (const argv of [
      [],
      ['--'],
      ['--json'],
      ['--timeout', '0', 'true'],
      ['--timeout', 'x', 'true'],
      ['--env', 'NOEQ', 'true'],
      ['--nope', 'true'],
    ]) {
      expect(() => parseRunArgs(argv)).toThrow(UsageError)
    }
  })
})

describe('sandproc run', () => {
  it('passes output through and exits with the process status', async () => {
    const r = await finished(cli(['run', '--', 'sh', '-c', 'echo hi; echo oops >&2; exit 7']))
    expect(r).toEqual({ code: 7, stdout: 'hi\n', stderr: 'oops\n' })
    expect((await finished(cli(['run', 'sh', '-c', 'kill -TERM $$']))).code).toBe(143)
  })

  it('prints the events as JSON lines with --json, ending with the exit event and usage', async () => {
    const r = await finished(cli(['run', '--json', '--', 'sh', '-c', 'echo hi; exit 3']))
    expect(r.code).toBe(3)
    const events = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(Object.keys(events[0])).toEqual(['handle', 'pid', 'started_at'])
    expect(events[1]).toMatchObject({ line: 'hi', stream: 'stdout' })
    expect(events).toHaveLength(3)
    expect(events[2]).toMatchObject({
      exit_code: 3,
      usage: { wall_ms: expect.any(Number), user_cpu_ms: expect.any(Number) },
    })
  })

  it('applies --env, --cwd and --timeout', async () => {
    const r = await finished(
      cli([
        'run',
        '--env',
        'A=1',
        '--env',
        'B=2',
        '--cwd',
        '/tmp',
        '--timeout',
        '0.3',
        '--',
        'sh',
        '-c',
        'echo $A$B; pwd; exec sleep 30',
      ]),
    )
    expect(r).toEqual({ code: 137, stdout: '12\n/tmp\n', stderr: 'sandproc: timed out after 0.3 s (SIGKILL)\n' })
  })

  it('says on stderr how a process ended when it did not exit by itself', async () => {
    const graced = await finished(
      cli(['run', '--timeout', '1', '--timeout-grace', '0.2', '--', 'sh', '-c', 'trap "" TERM; exec sleep 30']),
    )
    expect(graced).toEqual({
      code: 137,
      stdout: '',
      stderr: 'sandproc: timed out after 1 s (SIGTERM, then SIGKILL after 0.2 s)\n',
    })
    const idle = await finished(cli(['run', '--idle-timeout', '0.2', '--', 'sleep', '30']))
    expect(idle).toEqual({ code: 137, stdout: '', stderr: 'sandproc: no output for 0.2 s (SIGKILL)\n' })
    const hog = 'a = []\nfor i in range(1024):\n    a.append(bytearray(1 << 20))\nraise SystemExit(3)'
    const oom = await finished(cli(['run', '--memory-limit', '64M', '--', 'python3', '-c', hog]))
    expect(oom.code).toBe(137)
    expect(oom.stderr).toMatch(/^sandproc: OOM-killed \(memory limit 64 MiB, peak [0-9.]+ MiB\)\n$/)
    const signaled = await finished(cli(['run', 'sh', '-c', 'kill -TERM $$']))
    expect(signaled.stderr).toBe('sandproc: killed by SIGTERM (15)\n')
    expect((await finished(cli(['run', 'sh', '-c', 'exit 3']))).stderr).toBe('')
  })

  it('--merge makes one stream; --max-output keeps both ends and says what it dropped', async () => {
    expect(await finished(cli(['run', '--merge', '--', 'sh', '-c', 'echo a; echo b >&2; echo c']))).toEqual({
      code: 0,
      stdout: 'a\nb\nc\n',
      stderr: '',
    })
    const capped = await finished(cli(['run', '--max-output', '40', '--', 'seq', '1', '1000']))
    expect(capped.code).toBe(0)
    // 20 bytes live: 1..9 (18 bytes; "10\n" would pass 20); 20 kept: 997..1000 (17 bytes).
    expect(capped.stdout).toBe('1\n2\n3\n4\n5\n6\n7\n8\n9\n997\n998\n999\n1000\n')
    // seq 1 1000 prints 3893 bytes: 3893 - 18 - 17 dropped, in 1000 - 9 - 4 lines.
    expect(capped.stderr).toBe('sandproc: 987 lines (3858 bytes) of stdout dropped here (--max-output)\n')
  })

  it('reports a program that cannot start, a bad user and bad flags', async () => {
    const missing = await finished(cli(['run', '--json', 'no-such-program-sandproc']))
    expect(missing.code).toBe(127)
    expect(JSON.parse(missing.stdout)).toMatchObject({ code: 'SPAWN_FAILED', errno: 'ENOENT', syscall: 'execve' })
    expect(missing.stderr).toMatch(/cannot run no-such-program-sandproc/)
    expect((await finished(cli(['run', '--user', 'no-such-user-sandproc', 'true']))).code).toBe(2)
    const bad = await finished(cli(['run', '--frobnicate', 'true']))
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/frobnicate/)
    expect((await finished(cli(['nope']))).code).toBe(2)
    const help = await finished(cli(['run', '--help']))
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: sandproc run/)
    for (const flag of ['--timeout-grace', '--idle-timeout', '--merge', '--max-output', 'OOM-killed'])
      expect(help.stdout).toContain(flag)
  })

  it('passes SIGINT on to the process', async () => {
    const c = cli(['run', '--', 'sh', '-c', 'echo ready; exec sleep 60'])
    await c.waitFor('stdout', /ready/)
    c.child.kill('SIGINT')
    expect(await c.exited).toBe(130)
  })
})

describe('sandproc serve', () => {
  it('answers curl -N, and on SIGTERM ends streams with their exit frames and exits 0', async () => {
    const server = cli(['serve', '--port', '0', '--token', 'cli-token'])
    const [, url] = await server.waitFor('stderr', /listening on (http:\/\/127\.0\.0\.1:[0-9]+)/)
    const auth = ['-H', 'Authorization: Bearer cli-token', '-H', 'Content-Type: application/json']
    const seed = await finished(
      curl(['-X', 'POST', `${url}/api/v1/processes/run`, ...auth, '-d', '{"command":"sh","args":["-c","echo hello"]}']),
    )
    expect(seed.code).toBe(0)
    expect(seed.stdout).toMatch(
      /^data: \{"handle":1,"pid":[0-9]+,"started_at":[0-9]+\}\n\ndata: \{"line":"hello","timestamp":[0-9]+,"stream":"stdout"\}\n\ndata: \{"exit_code":0,.*\}\n\n$/,
    )

    const long = curl([
      '-X',
      'POST',
      `${url}/api/v1/processes/run`,
      ...auth,
      '-d',
      '{"command":"sh","args":["-c","echo ready; sleep 60"]}',
    ])
    await long.waitFor('stdout', /"ready"/)
    const started = await finished(
      curl([
        '-X',
        'POST',
        `${url}/api/v1/processes`,
        ...auth,
        '-d',
        '{"command":"sh","args":["-c","echo up; sleep 60"]}',
      ]),
    )
    const { pid } = JSON.parse(started.stdout) as { pid: number }
    const follow = curl([`${url}/api/v1/processes/${pid}/stdout/follow`, ...auth])
    await follow.waitFor('stdout', /"up"/)
    server.child.kill('SIGTERM')
    const streamed = await finished(long)
    expect(streamed.code).toBe(0)
    expect(streamed.stdout).toMatch(/\ndata: \{"signal":15,.*\}\n\n$/)
    const followed = await finished(follow)
    expect(followed.code).toBe(0)
    expect(followed.stdout).toMatch(
      /^event: output\nid: 0\ndata: \{"line":"up","timestamp":[0-9]+\}\n\nevent: eof\ndata: \{\}\n\n$/,
    )
    expect(await server.exited).toBe(0)
    expect(server.out.stderr).toMatch(/stopped/)
  })

  it('prints a generated token once and takes its settings from SANDPROC_* variables', async () => {
    const server = cli(['serve'], { SANDPROC_PORT: '0', SANDPROC_HOST: '127.0.0.1' })
    const [, token] = await server.waitFor('stderr', /generated token[^:]*: (\S+)\n/)
    const [, url] = await server.waitFor('stderr', /listening on (\S+)\n/)
    const health = await finished(curl(['-H', `Authorization: Bearer ${token}`, `${url}/api/v1/health`]))
    expect(health.stdout).toBe('{"healthy":true}')
    const denied = await finished(curl([`${url}/api/v1/health`]))
    expect(JSON.parse(denied.stdout)).toMatchObject({ code: 'UNAUTHORIZED' })
    server.child.kill('SIGINT')
    expect(await server.exited).toBe(0)
    expect(server.out.stderr.split(token)).toHaveLength(2)
  })

  it('refuses to serve without auth off loopback, and bad flags, with status 2', async () => {
    const open = await finished(cli(['serve', '--allow-no-auth', '--host', '0.0.0.0']))
    expect(open.code).toBe(2)
    expect(open.stderr).toMatch(/loopback/)
    expect((await finished(cli(['serve', '--port', 'nope']))).code).toBe(2)
    const help = await finished(cli(['serve', '--help']))
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/SANDPROC_PORT/)
  })
})

describe('sandproc handover-check', () => {
  it('loads, and accepts only the handover state versions this program reads (its own and 1)', async () => {
    expect(STATE_VERSION).toBe(2)
    for (const v of ['1', '2']) expect(await cli(['handover-check', v]).exited).toBe(0)
    const other = cli(['handover-check', '999'])
    expect(await other.exited).toBe(1)
    expect(other.out.stderr).toMatch(/reads handover state versions 1 and 2, not 999/)
  })
})
