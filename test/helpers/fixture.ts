/** The per-file test fixture: one Supervisor and one temp dir, made before the file's tests and removed after. */
import { afterAll, beforeAll } from 'vitest'

import { Supervisor, type SupervisorOptions } from '../../src/supervisor.js'
import { rmTemp, tempDir } from './system.js'

/** Calls `take` with the fixture before the file's tests run; closes and removes it after them. */
export function useSupervisor(take: (sup: Supervisor, dir: string) => void, opts?: SupervisorOptions): void {
  let sup: Supervisor | undefined
  let dir: string | undefined
  beforeAll(async () => {
    sup = new Supervisor(opts)
    dir = tempDir()
    take(sup, dir)
    // Its cgroup pool fills in the background: tests that count fds start after that.
    await sup.ready()
  })
  afterAll(async () => {
    await sup?.close()
    if (dir !== undefined) rmTemp(dir)
  })
}
