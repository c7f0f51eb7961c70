/**
 * An embedder program for the live-upgrade tests (docs/upgrade.md), run as a child (an
 * execve would replace the test runner): it prints one JSON line per phase (the old
 * program, the new one, ...), which this collects once it has exited.
 */
import { spawn } from 'node:child_process'

export interface Phase {
  phase: string
  [key: string]: unknown
}

/** Runs `node --import tsx <script> ...args` and resolves with its phases, in order. */
export function runPhases<P = Phase>(script: string, args: string[]): Promise<P[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  return new Promise((resolve) =>
    child.once('close', () =>
      resolve(
        out
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as P),
      ),
    ),
  )
}
