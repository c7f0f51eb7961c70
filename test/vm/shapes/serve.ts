/**
 * For the deployment-shape tests: `sandproc serve` started by a shell that first puts
 * itself where the shape says (a cgroup, a container), its start-up lines, requests to
 * it, and what a run of one process ended with.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { onTestFailed } from 'vitest'

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
export const CG = '/sys/fs/cgroup'
const TOKEN = 'shapes-token'

/**
 * What `exec $SERVE ...` runs in the shape scripts: the CLI as the package installs it
 * (dist/, which shapes.sh builds first; tsx would take most of a minute to start in the VM).
 */
const SERVE = `${process.execPath} ${ROOT}dist/cli/main.js serve --port 0 --token ${TOKEN} --no-console`

export interface Served {
  child: ChildProcess
  url: string
  /** The `sandproc: ...` lines printed before it listened. */
  startup: string[]
  stderr: () => string
  /** Resolves once the line matching `re` is on stderr. */
  waitFor(re: RegExp): Promise<RegExpExecArray>
  exited: Promise<number | null>
}

/**
 * Runs `script` with bash; it ends by exec'ing `$SERVE` (plus any flags) from where the
 * shape puts it. Does not wait for it to listen: see {@link listening}.
 */
export function launch(script: string): Served {
  const child = spawn('bash', ['-c', script], {
    cwd: ROOT,
    env: { ...process.env, SERVE },
    stdio: ['pipe', 'ignore', 'pipe'],
  })
  let text = ''
  const waiters: Array<() => void> = []
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => {
    text += chunk
    for (const wake of waiters.splice(0)) wake()
  })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  onTestFailed(() => console.log(`serve's stderr:\n${text}`))
  const waitFor = async (re: RegExp): Promise<RegExpExecArray> => {
    for (;;) {
      const m = re.exec(text)
      if (m !== null) return m
      const closed = await Promise.race([
        new Promise<false>((r) => waiters.push(() => r(false))),
        exited.then(() => true),
      ])
      if (closed && re.exec(text) === null) throw new Error(`serve ended without ${re}:\n${text}`)
    }
  }
  return { child, url: '', startup: [], stderr: () => text, waitFor, exited }
}

/** Waits for the listening line; fills `url` and `startup`. */
export async function listening(s: Served): Promise<Served> {
  const [, url] = await s.waitFor(/sandproc: listening on (\S+)\n/)
  s.url = url
  s.startup = s
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('sandproc: ') && !l.includes('listening on'))
  return s
}

export async function api(s: Served, p: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  return fetch(`${s.url}/api/v1${p}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

/** The last `data:` frame of a `run` stream: its exit frame. */
export async function runToEnd(
  s: Served,
  body: Record<string, unknown>,
): Promise<{ status: number; exit: Record<string, unknown>; lines: string[] }> {
  const res = await api(s, '/processes/run', body)
  const text = await res.text()
  if (res.status !== 200) return { status: res.status, exit: JSON.parse(text) as Record<string, unknown>, lines: [] }
  const frames = text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>)
  const lines = frames.filter((f) => typeof f.line === 'string').map((f) => f.line as string)
  return { status: res.status, exit: frames[frames.length - 1], lines }
}

/** SIGTERM to the server's pid (not the shell's: in a container that is PID 1 inside). */
export async function stop(s: Served, pid = s.child.pid!): Promise<void> {
  process.kill(pid, 'SIGTERM')
  await s.exited
}

/** Every cgroup sandproc names (`sandproc`, `sandproc-<pid>`) under the whole hierarchy. */
export function sandprocCgroups(dir = CG): string[] {
  const found: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue
    const p = path.join(dir, e.name)
    if (/^sandproc(-\d+)?$/.test(e.name)) found.push(p)
    found.push(...sandprocCgroups(p))
  }
  return found
}

/** The pid of `parent`'s only child, once it has one (read after the child said so). */
export function childOf(parent: number): number {
  const kids = fs.readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim().split(/\s+/)
  if (kids.length !== 1 || kids[0] === '') throw new Error(`pid ${parent} has children [${kids.join(' ')}]`)
  return Number(kids[0])
}

export function writeProcs(dir: string, pid: number): void {
  fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid))
}
