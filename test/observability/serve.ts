/** A real `sandproc serve` child (through tsx) for the tests that need its signals and its environment. */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import { TOKEN } from '../helpers/server.js'
import type { MixServer } from './mix.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface ServeChild extends MixServer {
  child: ChildProcess
  stderr: () => string
  /** SIGTERM, then the exit status once it has shut down. */
  stop(): Promise<number | null>
}

/** Starts `sandproc serve --port 0` with the test token; resolves once it listens. */
export async function serveChild(
  args: string[],
  env: Record<string, string | undefined> = {},
  nodeArgs: string[] = [],
): Promise<ServeChild> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--no-console', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, SANDPROC_TOKEN: TOKEN, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let stderr = ''
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (text: string) => {
      stderr += text
      const m = /listening on (http:\/\/\S+)\n/.exec(stderr)
      if (m !== null) resolve(m[1])
    })
    exited.then(() => reject(new Error(`serve exited: ${stderr}`)))
  })
  return {
    url,
    child,
    stderr: () => stderr,
    api: (path, init = {}) => {
      const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...init.headers }
      let body: string | undefined
      if (init.body !== undefined) {
        body = JSON.stringify(init.body)
        headers['content-type'] = 'application/json'
      }
      return fetch(`${url}/api/v1${path}`, { method: init.method ?? 'GET', headers, body })
    },
    stop: () => {
      child.kill('SIGTERM')
      return exited
    },
  }
}
