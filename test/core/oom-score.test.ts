/**
 * A daemon's own oom_score_adj is not its children's: every child starts at 0, pipes and
 * terminals alike, root or not. This file puts its own process at 500 and back after
 * (going below 0 needs CAP_SYS_RESOURCE, which this machine's root lacks); the daemon at
 * -1000 of `deploy/sandproc.service` is checked in the cgroup v2 VM (test/vm/shapes.sh).
 */
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { Supervisor } from '../../src/supervisor.js'
import { collect, ending } from '../helpers/events.js'
import { collectPty } from '../helpers/pty.js'

const FILE = '/proc/self/oom_score_adj'
let before: string
let sup: Supervisor

beforeAll(async () => {
  before = fs.readFileSync(FILE, 'utf8').trim()
  fs.writeFileSync(FILE, '500')
  sup = new Supervisor()
  await sup.ready()
})

afterAll(async () => {
  await sup.close()
  fs.writeFileSync(FILE, before)
})

const READ = ['-c', 'cat /proc/self/oom_score_adj']

describe('oom_score_adj of the children of a supervisor at 500', () => {
  it('the supervisor itself is at 500', () => {
    expect(fs.readFileSync(FILE, 'utf8').trim()).toBe('500')
  })

  it('is 0 in a child that runs as root, and the supervisor stays at 500', async () => {
    const { stdout, exit } = await collect(sup.run({ command: 'sh', args: READ }))
    expect(ending(exit)).toEqual({ exit_code: 0 })
    expect(stdout).toEqual(['0'])
    expect(fs.readFileSync(FILE, 'utf8').trim()).toBe('500')
  })

  it('is 0 in a child that runs as another user', async () => {
    const { stdout, exit } = await collect(
      sup.run({ command: 'sh', args: ['-c', 'id -u; cat /proc/self/oom_score_adj'], user: 'nobody' }),
    )
    expect(ending(exit)).toEqual({ exit_code: 0 })
    expect(stdout).toEqual(['65534', '0'])
  })

  it('is 0 in a PTY session, as root and as another user', async () => {
    for (const user of [undefined, 'nobody']) {
      const { output, exit } = await collectPty(
        sup.pty({ command: 'sh', args: READ, ...(user === undefined ? {} : { user }) }),
      )
      expect(output.toString().trim()).toBe('0')
      expect(exit.exit_code).toBe(0)
    }
  })
})
