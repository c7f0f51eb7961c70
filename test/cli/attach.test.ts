/**
 * `sandproc attach` on a real terminal: the CLI runs inside a PTY session of its own
 * (the "local" terminal) and attaches to another session of a real server.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { parseAttachArgs } from '../../src/cli/attach.js'
import { UsageError } from '../../src/cli/args.js'
import { collectPty, createPty, untilOutput } from '../helpers/pty.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { rmTemp, tempDir } from '../helpers/system.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
let ts: TestServer
let dir: string

beforeAll(async () => {
  ts = await startServer()
  dir = tempDir()
})

afterAll(async () => {
  await ts.close()
  rmTemp(dir)
})

describe('sandproc attach', () => {
  it('raw mode (Ctrl-C goes to the session), resize frames on SIGWINCH, the exit code as its own, the terminal restored', async () => {
    const inner = await createPty(ts, {
      command: 'sh',
      args: [
        '-c',
        'trap "echo; echo INT; exit 6" INT; trap "stty size" WINCH; echo READY; while :; do sleep 0.05; done',
      ],
    })
    const cli = `${process.execPath} --import tsx src/cli/main.ts attach ${ts.url} ${inner.session_id}`
    const before = path.join(dir, 'before')
    const after = path.join(dir, 'after')
    const outer = ts.sup.pty({
      command: 'sh',
      args: ['-c', `stty -g > ${before}; ${cli}; echo "rc=$?"; stty -g > ${after}`],
      env: { SANDPROC_PTY_TOKEN: inner.token },
      working_dir: ROOT,
    })
    const done = collectPty(outer)
    await untilOutput(outer, /READY/)
    outer.resize(100, 30)
    await untilOutput(outer, /30 100/)
    outer.write('\x03')
    const { output, exit } = await done
    const text = output.toString()
    // libuv keeps ONLCR on in raw mode, so the inner \r\n reaches us as \r\r\n.
    expect(text).toMatch(/\^C\r+\nINT\r+\n/)
    expect(text).toMatch(/rc=6\r\n$/)
    expect(exit.exit_code).toBe(0)
    expect(fs.readFileSync(after, 'utf8')).toBe(fs.readFileSync(before, 'utf8'))
  })

  it('a refused token exits 1 and restores the terminal', async () => {
    const inner = await createPty(ts, { command: 'cat' })
    const before = path.join(dir, 'b2')
    const after = path.join(dir, 'a2')
    const outer = ts.sup.pty({
      command: 'sh',
      args: [
        '-c',
        `stty -g > ${before}; ${process.execPath} --import tsx src/cli/main.ts attach ${ts.url} ${inner.session_id} wrong-token; echo "rc=$?"; stty -g > ${after}`,
      ],
      working_dir: ROOT,
    })
    const { output } = await collectPty(outer)
    expect(output.toString()).toMatch(/HTTP 401[\s\S]*rc=1\r\n$/)
    expect(fs.readFileSync(after, 'utf8')).toBe(fs.readFileSync(before, 'utf8'))
    await ts.api(`/pty/${inner.session_id}`, { method: 'DELETE' })
  })

  it('parses URL SESSION_ID [TOKEN], the token also from SANDPROC_PTY_TOKEN', () => {
    expect(parseAttachArgs(['http://127.0.0.1:9501', 'abc', 'tok'], {})).toEqual({
      help: false,
      url: 'http://127.0.0.1:9501',
      sessionId: 'abc',
      token: 'tok',
    })
    expect(parseAttachArgs(['http://h', 'abc'], { SANDPROC_PTY_TOKEN: 't' })).toMatchObject({ token: 't' })
    expect(() => parseAttachArgs(['http://h', 'abc'], {})).toThrow(UsageError)
    expect(() => parseAttachArgs(['h', 'abc', 't'], {})).toThrow(UsageError)
    expect(parseAttachArgs(['--help'], {})).toEqual({ help: true })
  })
})
