/**
 * Privilege drop (docs/guarantees.md): a child run as another user has exactly the
 * asked-for real/effective/saved/fs uids and gids and supplementary groups, no
 * capabilities, cannot regain root, and inherits no fd of the supervisor but 0, 1 and
 * 2. Read from the child's own /proc/self/status by a small C probe
 * (test/fixtures/hardening/creds.c).
 */
import { spawn as spawnNode } from 'node:child_process'
import { closeSync, openSync, unlinkSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/index.js'
import type { UserSpec } from '../../src/types.js'
import { compileC, FIXTURES, ROOT } from '../helpers/hardening.js'
import { collect } from '../helpers/events.js'

interface Probe {
  fds: Array<{ fd: number; target: string }>
  Uid: string
  Gid: string
  Groups: string
  CapInh: string
  CapPrm: string
  CapEff: string
  CapAmb: string
  setgroups: number
  setgid: number
  setresgid: number
  setuid: number
  seteuid: number
  setresuid: number
  euid_after: number
  egid_after: number
}

const EPERM = 1
const NO_CAPS = '0000000000000000'

let probe: string
let sup: Supervisor

beforeAll(() => {
  probe = compileC('creds')
  // The supervisor itself has supplementary groups that no child may keep.
  process.setgroups?.([4, 24, 27, 100])
  sup = new Supervisor()
})

afterAll(async () => {
  await sup.close()
})

async function runProbe(user: UserSpec | undefined): Promise<Probe> {
  const { stdout, stderr, exit } = await collect(sup.run({ command: probe, user }))
  expect(stderr).toEqual([])
  expect(exit).toMatchObject({ exit_code: 0 })
  return JSON.parse(stdout.join('\n')) as Probe
}

const four = (n: number): string => `${n} ${n} ${n} ${n}`

// [user form, uid, gid, supplementary groups]. "1000" and {uid:1000} take the account's
// gid and groups (cloudsdk on the dev machines; any account with uid 1000 works, see the
// lookup in the test); 4242 has no account.
const CASES: Array<[string, UserSpec, number, number, number[] | 'account']> = [
  ['name "nobody"', 'nobody', 65534, 65534, [65534]],
  ['{name: "nobody"}', { name: 'nobody' }, 65534, 65534, [65534]],
  ['"1000:1000"', '1000:1000', 1000, 1000, []],
  ['{uid: 1000, gid: 1000}', { uid: 1000, gid: 1000 }, 1000, 1000, []],
  ['"65534:4321" (gid of no group)', '65534:4321', 65534, 4321, []],
  ['{uid: 4242} (no such account)', { uid: 4242 }, 4242, 4242, []],
  ['"4242" (no such account)', '4242', 4242, 4242, []],
  ['"1000" (the account with uid 1000)', '1000', 1000, -1, 'account'],
]

describe('privilege drop', () => {
  it('the supervisor runs as root with supplementary groups (precondition)', () => {
    expect(process.getuid?.()).toBe(0)
    expect(process.getgroups?.()).toEqual(expect.arrayContaining([4, 24, 27, 100]))
  })

  it.each(CASES)(
    'as %s: exact uids, gids, groups, no capabilities, cannot regain root',
    async (_label, user, uid, gidIn, groupsIn) => {
      let gid = gidIn
      let groups = groupsIn
      if (groups === 'account') {
        // Ask the system what initgroups would give this uid; if there is no such account
        // the uid-string rule is gid = uid and no groups.
        const { stdout } = await collect(sup.run({ command: 'id', args: ['-G', String(uid)] }))
        const { stdout: g } = await collect(sup.run({ command: 'id', args: ['-g', String(uid)] }))
        groups = stdout.length === 1 ? stdout[0].split(' ').map(Number) : []
        gid = g.length === 1 ? Number(g[0]) : uid
      }
      const p = await runProbe(user)
      expect(p.Uid).toBe(four(uid))
      expect(p.Gid).toBe(four(gid))
      const got = p.Groups.trim() === '' ? [] : p.Groups.trim().split(' ').map(Number)
      expect(got.sort((a, b) => a - b)).toEqual([...groups].sort((a, b) => a - b))
      for (const cap of [p.CapInh, p.CapPrm, p.CapEff, p.CapAmb]) expect(cap).toBe(NO_CAPS)
      // Every way back to root fails with EPERM, and nothing changed.
      expect(p.setgroups).toBe(EPERM)
      expect(p.setgid).toBe(EPERM)
      expect(p.setresgid).toBe(EPERM)
      expect(p.setuid).toBe(EPERM)
      expect(p.seteuid).toBe(EPERM)
      expect(p.setresuid).toBe(EPERM)
      expect(p.euid_after).toBe(uid)
      expect(p.egid_after).toBe(gid)
    },
  )

  it("without user, the child keeps the supervisor's own credentials", async () => {
    // docs/protocol.md "Requests": the default user is
    // "the supervisor's own user"; explicit groups apply to a user change.
    const p = await runProbe(undefined)
    expect(p.Uid).toBe(four(0))
    expect(p.Gid).toBe(four(0))
  })

  it('python as nobody cannot os.setuid(0)', async () => {
    const { stdout, exit } = await collect(
      sup.run({
        command: '/usr/bin/python3',
        args: [
          '-c',
          'import os\ntry:\n  os.setuid(0); print("ROOT")\nexcept PermissionError as e: print("errno", e.errno)\nprint(os.getresuid(), os.getresgid(), os.getgroups())',
        ],
        user: 'nobody',
        working_dir: '/',
      }),
    )
    expect(exit).toMatchObject({ exit_code: 0 })
    expect(stdout).toEqual(['errno 1', '(65534, 65534, 65534) (65534, 65534, 65534) [65534]'])
  })

  it('a user change without privileges fails with EPERM, never runs as the wrong user', async () => {
    // A supervisor that is itself nobody: setgroups is the first step and must refuse.
    const script = path.join(FIXTURES, 'unprivileged-supervisor.ts')
    const child = spawnNode(process.execPath, ['--import', 'tsx', script, probe], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let text = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d))
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    expect(code).toBe(0)
    const result = JSON.parse(text) as { error: { code: string; syscall: string } | null; ran: boolean }
    expect(result.ran).toBe(false)
    expect(result.error).toMatchObject({ code: 'EPERM', syscall: 'setgroups' })
  })
})

describe('fd inheritance', () => {
  it('a child inherits only 0, 1, 2 while the supervisor holds sockets, files and pipes', async () => {
    const held: Array<() => void> = []
    // A listening socket, a connected pair, open files for reading and writing.
    const server = net.createServer((s) => held.push(() => s.destroy()))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    held.push(() => server.close())
    const addr = server.address()
    if (addr === null || typeof addr === 'string') throw new Error('no address')
    const client = net.connect(addr.port, '127.0.0.1')
    await new Promise<void>((resolve) => client.on('connect', resolve))
    held.push(() => client.destroy())
    const file = path.join(tmpdir(), `sandproc-hardening-${process.pid}.txt`)
    writeFileSync(file, 'secret')
    const rfd = openSync(file, 'r')
    const wfd = openSync(file, 'a')
    held.push(() => (closeSync(rfd), closeSync(wfd)))
    // Another supervised process with a stdin pipe: its pipe ends are open here too.
    const other = sup.start({ command: 'cat', stdin_mode: 'pipe' })
    await other.started
    try {
      for (const user of [undefined, 'nobody'] as const) {
        const p = await runProbe(user)
        expect(p.fds.map((f) => f.fd)).toEqual([0, 1, 2])
        // stdin is /dev/null for run; stdout and stderr are pipes.
        expect(p.fds[0].target).toBe('/dev/null')
        expect(p.fds[1].target).toMatch(/^pipe:/)
        expect(p.fds[2].target).toMatch(/^pipe:/)
      }
    } finally {
      other.closeStdin()
      await other.exited
      for (const release of held) release()
      unlinkSync(file)
    }
  })

  it('fds the supervisor inherited without close-on-exec are not passed on either', async () => {
    // Node marks low inherited fds close-on-exec at startup but not high ones: a
    // supervisor started by a shell holding fds 40 and 300 keeps them inheritable. The
    // probe must still see only 0, 1, 2.
    const script = path.join(FIXTURES, 'fd-supervisor.ts')
    const file = path.join(tmpdir(), `sandproc-hardening-fd-${process.pid}.txt`)
    writeFileSync(file, 'x')
    const child = spawnNode(
      '/bin/bash',
      ['-c', 'exec 40<"$1" 300<>"$1"; exec "$2" --import tsx "$3" "$4"', 'sh', file, process.execPath, script, probe],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let text = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d))
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    unlinkSync(file)
    expect(code).toBe(0)
    const result = JSON.parse(text) as { inherited: number[]; probe: Probe }
    // Precondition: the supervisor really holds fds that are not close-on-exec.
    expect(result.inherited).toEqual(expect.arrayContaining([40, 300]))
    expect(result.probe.fds.map((f) => f.fd)).toEqual([0, 1, 2])
  })
})
