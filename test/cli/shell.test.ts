/**
 * `sandproc shell` on a real terminal: the CLI runs inside a PTY session of its own (the
 * "local" terminal) and opens a session on a real server, whose shell is /bin/bash.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { UsageError } from '../../src/cli/args.js'
import { DEFAULT_SHELL, parseShellArgs, shellRequest } from '../../src/cli/shell.js'
import { collectPty, untilOutput } from '../helpers/pty.js'
import { startServer, TOKEN, type TestServer } from '../helpers/server.js'
import { rmTemp, tempDir } from '../helpers/system.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = `${process.execPath} --import tsx src/cli/main.ts`
let ts: TestServer
let dir: string

beforeAll(async () => {
  ts = await startServer({}, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SHELL: '/bin/bash' } })
  dir = tempDir()
})

afterAll(async () => {
  await ts.close()
  rmTemp(dir)
})

async function sessions(): Promise<Array<{ session_id: string; is_alive: boolean }>> {
  return ((await (await ts.api('/pty')).json()) as { sessions: Array<{ session_id: string; is_alive: boolean }> })
    .sessions
}

/** Runs the CLI with pipes (no terminal): its exit status and what it printed. */
function cliPiped(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, SANDPROC_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out = { stdout: '', stderr: '' }
  child.stdout.on('data', (b: Buffer) => (out.stdout += b.toString()))
  child.stderr.on('data', (b: Buffer) => (out.stderr += b.toString()))
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, ...out })))
}

describe('sandproc shell', () => {
  it("opens the server's shell at this terminal's size, runs what is typed, exits with its code, deletes the session", async () => {
    const before = path.join(dir, 'before')
    const after = path.join(dir, 'after')
    const outer = ts.sup.pty({
      command: 'sh',
      args: ['-c', `stty -g > ${before}; ${CLI} shell ${ts.url}; echo "rc=$?"; stty -g > ${after}`],
      env: { SANDPROC_TOKEN: TOKEN },
      working_dir: ROOT,
      rows: 33,
      cols: 101,
    })
    const done = collectPty(outer)
    await untilOutput(outer, /[#$] $/)
    // The server's environment has no HOME: the shell gets root's from the account.
    outer.write('echo "shell=$0 home=$HOME size=$(stty size) sum=$((6*7))"\r')
    await untilOutput(outer, /shell=\/bin\/bash home=\/root size=33 101 sum=42/)
    outer.write('exit 7\r')
    const { output, exit } = await done
    expect(output.toString()).toMatch(/rc=7\r\n$/)
    expect(exit.exit_code).toBe(0)
    expect(fs.readFileSync(after, 'utf8')).toBe(fs.readFileSync(before, 'utf8'))
    expect(await sessions()).toEqual([])
  })

  it('runs the COMMAND after -- as --user in --cwd, with the token from --token', async () => {
    const outer = ts.sup.pty({
      command: 'sh',
      args: [
        '-c',
        `${CLI} shell ${ts.url} --token ${TOKEN} --user nobody --cwd /tmp -- sh -c 'echo "as=$(id -un) in=$(pwd)"; exit 3'; echo "rc=$?"`,
      ],
      working_dir: ROOT,
    })
    const { output } = await collectPty(outer)
    expect(output.toString()).toMatch(/as=nobody in=\/tmp\r+\n[\s\S]*rc=3\r\n$/)
    expect(await sessions()).toEqual([])
  })

  it('leaves a live session running when SIGTERM detaches it, and says how to reattach, which works', async () => {
    // The program ends with 4 on its first SIGWINCH: the reattach's resize frame.
    const program = `trap "echo WINCH; exit 4" WINCH; echo READY; while :; do sleep 0.05; done`
    const outer = ts.sup.pty({
      command: 'sh',
      args: ['-c', `exec ${CLI} shell ${ts.url} -- sh -c '${program}'`],
      env: { SANDPROC_TOKEN: TOKEN },
      working_dir: ROOT,
    })
    const done = collectPty(outer)
    await untilOutput(outer, /READY/)
    process.kill(outer.pid!, 'SIGTERM')
    const { output, exit } = await done
    expect(exit.exit_code).toBe(143)
    const match = /reattach with SANDPROC_PTY_TOKEN=(\S+) sandproc attach (\S+) (\S+)\r\n$/.exec(output.toString())
    expect(match?.[2]).toBe(ts.url)
    const [, token, url, id] = match!
    expect(await sessions()).toEqual([expect.objectContaining({ session_id: id, is_alive: true })])

    const again = ts.sup.pty({
      command: 'sh',
      args: ['-c', `SANDPROC_PTY_TOKEN=${token} ${CLI} attach ${url} ${id}; echo "rc=$?"`],
      working_dir: ROOT,
      rows: 30,
      cols: 90,
    })
    const { output: reattached } = await collectPty(again)
    expect(reattached.toString()).toMatch(/WINCH\r+\n[\s\S]*rc=4\r\n$/)
    expect((await ts.api(`/pty/${id}`, { method: 'DELETE' })).status).toBe(204)
  })

  it('says in one line why a session cannot be made, and exits 1', async () => {
    const other = http.createServer((_req, res) =>
      res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>'),
    )
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`
    const closed = http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`
    await new Promise((resolve) => closed.close(resolve))
    const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
      ['a bad token', ['shell', ts.url, '--token', 'wrong'], {}, /HTTP 401 UNAUTHORIZED.*--token/],
      ['no token', ['shell', ts.url], {}, /HTTP 401 UNAUTHORIZED.*SANDPROC_TOKEN/],
      ['an unreachable server', ['shell', closedUrl], { SANDPROC_TOKEN: TOKEN }, /cannot reach .*ECONNREFUSED/],
      ['a wrong path in the URL', ['shell', `${ts.url}/sandproc`], { SANDPROC_TOKEN: TOKEN }, /HTTP 404 NOT_FOUND/],
      [
        'a server that is not sandproc',
        ['shell', otherUrl],
        { SANDPROC_TOKEN: TOKEN },
        /HTTP 404 without a sandproc answer/,
      ],
      [
        'an unknown user',
        ['shell', ts.url, '--user', 'no-such-user-26'],
        { SANDPROC_TOKEN: TOKEN },
        /HTTP 400 USER_NOT_FOUND/,
      ],
      [
        'a missing program',
        ['shell', ts.url, '--', '/no/such/program'],
        { SANDPROC_TOKEN: TOKEN },
        /HTTP 422 SPAWN_FAILED/,
      ],
    ]
    const results = await Promise.all(cases.map(([, args, env]) => cliPiped(args, env)))
    other.close()
    for (const [i, [name, , , pattern]] of cases.entries()) {
      const { code, stdout, stderr } = results[i]
      expect({ name, code, stdout }).toEqual({ name, code: 1, stdout: '' })
      expect(stderr, name).toMatch(/^sandproc: [^\n]+\n$/)
      expect(stderr, name).toMatch(pattern)
    }
    expect(await sessions()).toEqual([])
  })

  it('is listed by sandproc --help and has a --help of its own', async () => {
    const [main, own] = await Promise.all([cliPiped(['--help']), cliPiped(['shell', '--help'])])
    expect(main).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ {2}shell /m) })
    expect(own).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: sandproc shell URL/) })
  })

  it('parses URL, --token (or SANDPROC_TOKEN), --user, --cwd and the command after --', () => {
    expect(
      parseShellArgs(['http://h:1/', '--user', 'u', '--cwd', '/d', '--', 'ls', '-l'], { SANDPROC_TOKEN: 't' }),
    ).toEqual({
      help: false,
      url: 'http://h:1',
      token: 't',
      user: 'u',
      cwd: '/d',
      command: ['ls', '-l'],
    })
    expect(parseShellArgs(['--token', 'flag', 'https://h'], { SANDPROC_TOKEN: 'env' })).toEqual({
      help: false,
      url: 'https://h',
      token: 'flag',
    })
    expect(parseShellArgs(['http://h'], {})).toEqual({ help: false, url: 'http://h' })
    expect(parseShellArgs(['--help'], {})).toEqual({ help: true })
    for (const bad of [[], ['h:1'], ['ftp://h'], ['http://h', 'ls'], ['http://h', '--'], ['http://h', '--shell']]) {
      expect(() => parseShellArgs(bad, {}), bad.join(' ')).toThrow(UsageError)
    }
  })

  it("asks for the terminal's size and TERM, and the server's shell without a command", () => {
    const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }
    const tty = { ...io, stdout: { isTTY: true, columns: 2000, rows: 40 } as unknown as typeof process.stdout }
    expect(shellRequest({ url: 'http://h' }, tty, { TERM: 'screen' })).toEqual({
      command: DEFAULT_SHELL[0],
      args: DEFAULT_SHELL.slice(1),
      env: { TERM: 'screen' },
      cols: 1000,
      rows: 40,
    })
    const piped = { ...io, stdout: { isTTY: false } as unknown as typeof process.stdout }
    expect(shellRequest({ url: 'http://h', command: ['top'], user: 'u', cwd: '/' }, piped, {})).toEqual({
      command: 'top',
      args: [],
      user: 'u',
      working_dir: '/',
    })
  })
})
