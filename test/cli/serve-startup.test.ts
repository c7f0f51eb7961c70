/**
 * What `sandproc serve` says at start (docs/deploying.md): where the per-process cgroups
 * go or why OOM detection is off and the fix, and how many processes its fd limit
 * allows; `--cgroup-parent` / `SANDPROC_CGROUP_PARENT`; `GET /info`'s `capabilities`.
 * The v2 shapes themselves are run in the cgroup v2 VM (test/vm/shapes.sh).
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { parseServeArgs, UsageError } from '../../src/cli/args.js'
import { cgroupLines, fdLimit, fdLine } from '../../src/cli/startup.js'
import { CgroupManager } from '../../src/cgroup/index.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** `sandproc serve` on a free port; resolves with its stderr up to the listening line, and its URL. */
async function serve(args: string[], env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--token', 'startup-token', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, SANDPROC_TOKEN: undefined, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let stderr = ''
  child.stderr.setEncoding('utf8')
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (text: string) => {
      stderr += text
      const m = /listening on (\S+)\n/.exec(stderr)
      if (m !== null) resolve(m[1])
    })
    child.on('close', () => reject(new Error(`serve exited: ${stderr}`)))
  })
  const info = (await (
    await fetch(`${url}/api/v1/info`, { headers: { authorization: 'Bearer startup-token' } })
  ).json()) as Record<string, unknown>
  const exited = new Promise((resolve) => child.on('close', resolve))
  child.kill('SIGTERM')
  await exited
  return { stderr, info }
}

describe('the start-up lines', () => {
  it('say where the cgroups go and that OOM detection is on', () => {
    const caps = {
      cgroup: 'v2' as const,
      oomDetection: true,
      dir: '/sys/fs/cgroup/sandproc-7/s7-ab',
      placement: 'ancestor' as const,
      controllers: {} as never,
    }
    expect(cgroupLines(caps)).toEqual([
      'sandproc: per-process cgroups in /sys/fs/cgroup/sandproc-7/s7-ab (cgroup v2, under the nearest ancestor of its shared cgroup that can have the memory controller); OOM detection on',
    ])
  })

  it('say that OOM detection is off, why, and the one-line fix', () => {
    const caps = {
      cgroup: null,
      oomDetection: false,
      reason: 'X holds processes',
      fix: 'pass --cgroup-parent DIR',
      controllers: {} as never,
    }
    expect(cgroupLines(caps)).toEqual([
      'sandproc: OOM detection off, and memory_limit, pids_limit, cpu_limit refused: X holds processes',
      'sandproc: to turn it on: pass --cgroup-parent DIR',
    ])
  })

  it('count the processes the fd limit allows, and warn below the process cap', () => {
    expect(
      fdLimit(
        'Limit                     Soft Limit           Hard Limit           Units\nMax open files            20000                20000                files\n',
      ),
    ).toBe(20000)
    expect(fdLine(20000, 32, 256)).toBe(
      'sandproc: fd limit 20000 allows about 6656 running processes (3 fds each); --max-processes 256',
    )
    expect(fdLine(1024, 24, 512)).toMatch(
      /allows about 333 running processes \(3 fds each\), fewer than --max-processes 512: .*429 TOO_MANY_OPEN_FILES; raise LimitNOFILE$/,
    )
  })
})

describe('--cgroup-parent', () => {
  it('comes from the flag or SANDPROC_CGROUP_PARENT, flag first, and must be absolute', () => {
    expect(parseServeArgs([], { SANDPROC_CGROUP_PARENT: '/sys/fs/cgroup/a' })).toMatchObject({
      cgroupParent: '/sys/fs/cgroup/a',
    })
    expect(
      parseServeArgs(['--cgroup-parent', '/sys/fs/cgroup/b'], { SANDPROC_CGROUP_PARENT: '/sys/fs/cgroup/a' }),
    ).toMatchObject({ cgroupParent: '/sys/fs/cgroup/b' })
    expect(() => parseServeArgs(['--cgroup-parent', 'relative/dir'])).toThrow(UsageError)
  })
})

describe('sandproc serve, for real on this machine', () => {
  // A parent of our own beside the supervisors' default one, in this process's memory cgroup.
  let parent: string
  beforeAll(async () => {
    const probe = CgroupManager.detect({ poolSize: 0 })
    const own = path.dirname(path.dirname(probe.dir!))
    await probe.close()
    parent = path.join(own, `startup-test-${process.pid}`)
    fs.mkdirSync(parent)
  })
  afterAll(() => fs.rmdirSync(parent))

  it('with --cgroup-parent: one line naming a directory under it, the fd line; /info has the capabilities; nothing left', async () => {
    const { stderr, info } = await serve(['--cgroup-parent', parent])
    const line = new RegExp(
      `^sandproc: per-process cgroups in ${parent}/s\\d+-[0-9a-f]{8} \\(cgroup v[12], under --cgroup-parent\\); OOM detection on$`,
      'm',
    )
    expect(stderr).toMatch(line)
    expect(stderr).toMatch(/^sandproc: fd limit \d+ allows about \d+ running processes \(3 fds each\)/m)
    expect(info.capabilities).toMatchObject({
      oomDetection: true,
      placement: 'parent',
      dir: expect.stringContaining(`${parent}/s`),
    })
    expect(fs.readdirSync(parent).filter((e) => fs.statSync(path.join(parent, e)).isDirectory())).toEqual([])
  })

  it('with SANDPROC_CGROUP_PARENT naming no cgroup: OOM detection off, why, and the fix', async () => {
    const { stderr, info } = await serve([], { SANDPROC_CGROUP_PARENT: `${parent}/missing` })
    expect(stderr).toMatch(new RegExp(`^sandproc: OOM detection off, .*: ${parent}/missing does not exist$`, 'm'))
    expect(stderr).toMatch(/^sandproc: to turn it on: pass an existing cgroup directory as --cgroup-parent$/m)
    expect(info.capabilities).toMatchObject({ cgroup: null, oomDetection: false, fix: expect.any(String) })
  })
})
