/**
 * The short soak (docs/guarantees.md) inside `npm test`: `soak/soak.ts --short` runs
 * 1,000 mixed runs (exits, signals, timeouts, spawn failures, stdin, kills, trees,
 * users, limits, refused requests, small floods) and 100 MB floods through the library
 * and the server, in its own Node process, and reports what it measured.
 * `npm run soak` is the 10,000-run, 1 GB form.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

import type { FloodResult } from '../../soak/flood.js'
import type { Snapshot } from '../../soak/measure.js'
import { ROOT } from '../helpers/hardening.js'

/** The soak's own types: the report is its JSON output. */
type Flood = Omit<FloodResult, 'exit'> & { exit: { exit_code?: number } }

interface Report {
  runs: number
  perKind: Record<string, number>
  wrong: unknown[]
  initial: Snapshot
  first: Snapshot
  mid: Snapshot
  last: Snapshot
  afterClose: Snapshot
  floods: { library: Flood; server: Flood & { status: number } }
  failures: string[]
}

describe('soak --short', () => {
  it('1,000 runs leave fds, children, zombies and cgroup directories as after the first 100; floods bounded', async () => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', path.join(ROOT, 'soak', 'soak.ts'), '--short', '--json'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let text = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    const r = JSON.parse(text) as Report
    expect(r.wrong).toEqual([])
    expect(r.runs).toBe(1000)
    expect(Object.keys(r.perKind).length).toBeGreaterThanOrEqual(15)
    for (const key of ['fds', 'children', 'zombies', 'cgroupDirs'] as const) {
      expect({ key, value: r.last[key] }).toEqual({ key, value: r.first[key] })
    }
    expect(r.last.zombies).toBe(0)
    expect(r.afterClose).toMatchObject({ children: r.initial.children, zombies: 0, cgroupDirs: 0 })
    for (const f of [r.floods.library, r.floods.server]) {
      expect(f).toMatchObject({ lines: f.expectedLines, inOrder: true, exit: { exit_code: 0 } })
      expect(f.stalls).toBeGreaterThan(0)
    }
    expect(r.floods.server.status).toBe(200)
    expect(r.failures).toEqual([])
    expect(code).toBe(0)
  })
})
