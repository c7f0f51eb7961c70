/**
 * `sandproc serve` as a child process for the live-upgrade tests (docs/upgrade.md): the
 * CLI run from source, its stderr lines awaited, and the API with its token.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { afterEach, expect } from 'vitest'

export const TOKEN = 'handover-token-of-some-length'

export interface Served {
  child: ChildProcess
  url: string
  /** Resolves with the first stderr line matching `re` seen from now on. */
  line(re: RegExp): Promise<string>
}

const servers: ChildProcess[] = []
// Every server a test started is stopped after it.
afterEach(async () => {
  for (const s of servers.splice(0)) {
    if (s.exitCode !== null || s.signalCode !== null) continue
    const exited = new Promise((r) => s.once('exit', r))
    s.kill('SIGTERM')
    await exited
  }
})

export async function serve(extraArgs: string[] = []): Promise<Served> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--token', TOKEN, ...extraArgs],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  servers.push(child)
  let buf = ''
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = []
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    buf += d
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, nl)
      if (process.env.HANDOVER_DEBUG) console.log('server:', l)
      buf = buf.slice(nl + 1)
      for (const w of [...waiters]) {
        if (!w.re.test(l)) continue
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(l)
      }
    }
  })
  const line = (re: RegExp): Promise<string> => new Promise((resolve) => waiters.push({ re, resolve }))
  const listening = await line(/listening on http/)
  return { child, url: /(http:\/\/\S+)/.exec(listening)![1], line }
}

export function api(s: Served, p: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${s.url}/api/v1${p}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers },
  })
}

export async function start(s: Served, body: object): Promise<{ pid: number }> {
  const res = await api(s, '/processes', { method: 'POST', body: JSON.stringify(body) })
  expect(res.ok).toBe(true)
  return (await res.json()) as { pid: number }
}

export async function info(s: Served, pid: number): Promise<Record<string, unknown>> {
  return (await (await api(s, `/processes/${pid}`)).json()) as Record<string, unknown>
}

export async function untilExited(s: Served, pid: number): Promise<Record<string, unknown>> {
  for (;;) {
    const i = await info(s, pid)
    if (i.status !== 'running') return i
    await new Promise((r) => setTimeout(r, 50))
  }
}
