/**
 * The limit flags of `sandproc run` and `sandproc serve` (docs/cgroups.md), and a real
 * run with them.
 */
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

import { parseRunArgs, parseServeArgs, UsageError } from '../../src/cli/args.js'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const run = promisify(execFile)

describe('limit flags', () => {
  it('run: --pids-limit and --cpu-limit become the request fields', () => {
    expect(parseRunArgs(['--pids-limit', '64', '--cpu-limit=0.5', 'sh', '-c', 'true'])).toEqual({
      help: false,
      json: false,
      request: { command: 'sh', args: ['-c', 'true'], pids_limit: 64, cpu_limit: 0.5 },
    })
  })

  it('serve: flags and SANDPROC_PIDS_LIMIT / SANDPROC_CPU_LIMIT, flags first', () => {
    expect(parseServeArgs([], { SANDPROC_PIDS_LIMIT: '128', SANDPROC_CPU_LIMIT: '1.5' })).toMatchObject({
      pidsLimit: 128,
      cpuLimit: 1.5,
    })
    expect(parseServeArgs(['--pids-limit', '7', '--cpu-limit', '2'], { SANDPROC_PIDS_LIMIT: '128' })).toMatchObject({
      pidsLimit: 7,
      cpuLimit: 2,
    })
    expect(parseServeArgs([], {})).toMatchObject({ pidsLimit: undefined, cpuLimit: undefined })
  })

  it.each([
    ['--pids-limit', '0'],
    ['--pids-limit', '-1'],
    ['--pids-limit', '1.5'],
    ['--pids-limit', 'many'],
    ['--cpu-limit', '0'],
    ['--cpu-limit', '-1'],
    ['--cpu-limit', 'half'],
  ])('%s %s is a usage error', (flag, value) => {
    expect(() => parseRunArgs([flag, value, 'true'])).toThrow(UsageError)
    expect(() => parseServeArgs([flag, value], {})).toThrow(UsageError)
  })

  it("sandproc run --json reports the limits' figures in the exit line", async () => {
    const main = path.join(REPO, 'src/cli/main.ts')
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', main, 'run', '--json', '--pids-limit', '8', '--cpu-limit', '0.5', 'sh', '-c', 'echo hi'],
      { cwd: REPO },
    )
    const events = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    const exit = events.at(-1) as { exit_code: number; pids_limit_hits: number; usage: Record<string, unknown> }
    expect(exit.exit_code).toBe(0)
    expect(exit.pids_limit_hits).toBe(0)
    expect(exit.usage).toHaveProperty('cpu_throttled_ms')
    expect(exit.usage).toHaveProperty('pids_peak')
  })
})
