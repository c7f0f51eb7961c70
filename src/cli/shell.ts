/**
 * `sandproc shell URL [--token T] [--user U] [--cwd D] [-- COMMAND ARGS...]`: a PTY
 * session of this terminal's size made on the server, then attached to exactly as
 * `sandproc attach` does, then deleted once it has ended (docs/cli.md).
 */
import { parseArgs } from 'node:util'
import { UsageError } from './args.js'
import { attachCommand, type AttachIo } from './attach.js'

export interface ShellConfig {
  /** The server's base URL, without a trailing slash. */
  url: string
  /** The bearer token; absent for a server run with --allow-no-auth. */
  token?: string
  user?: string
  cwd?: string
  /** Absent: the server's shell (see DEFAULT_SHELL). */
  command?: string[]
}

/** The body of `POST /api/v1/pty` (as far as `shell` fills it in). */
export interface ShellRequest {
  command: string
  args: string[]
  user?: string
  working_dir?: string
  env?: Record<string, string>
  rows?: number
  cols?: number
}

/**
 * The server's shell: its `$SHELL` (the server's environment is every session's
 * environment), or /bin/sh where that is unset, with HOME set to the account's own as
 * login and sshd set it (else a --user shell reads the server's ~/.bashrc, or fails
 * to). `exec` makes the shell the session leader. See docs/cli.md.
 */
export const DEFAULT_SHELL: readonly string[] = [
  '/bin/sh',
  '-c',
  'h=$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6); [ -n "$h" ] && export HOME="$h"; exec "${SHELL:-/bin/sh}"',
]

/** The command starts after the first `--`; before it, the options and URL. */
export function parseShellArgs(
  argv: string[],
  env: NodeJS.ProcessEnv,
): { help: true } | ({ help: false } & ShellConfig) {
  const dashes = argv.indexOf('--')
  const before = dashes === -1 ? argv : argv.slice(0, dashes)
  let parsed
  try {
    parsed = parseArgs({
      args: before,
      options: {
        token: { type: 'string' },
        user: { type: 'string' },
        cwd: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    })
  } catch (err) {
    throw new UsageError(`shell: ${err instanceof Error ? err.message : String(err)}`)
  }
  const { values, positionals } = parsed
  if (values.help === true) return { help: true }
  const [url, extra] = positionals
  if (url === undefined) throw new UsageError('shell: missing URL')
  if (extra !== undefined) throw new UsageError(`shell: unexpected argument "${extra}" (a command goes after --)`)
  if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) {
    throw new UsageError(`shell: URL must be http://HOST:PORT or https://HOST:PORT, got "${url}"`)
  }
  const command = dashes === -1 ? undefined : argv.slice(dashes + 1)
  if (command !== undefined && (command.length === 0 || command[0] === ''))
    throw new UsageError('shell: missing COMMAND after --')
  const token = values.token ?? env.SANDPROC_TOKEN
  return {
    help: false,
    url: url.replace(/\/+$/, ''),
    ...(token !== undefined && token !== '' && { token }),
    ...(values.user !== undefined && { user: values.user }),
    ...(values.cwd !== undefined && { cwd: values.cwd }),
    ...(command !== undefined && { command }),
  }
}

/**
 * The session request: the command, and this terminal's size and TERM (as ssh passes
 * them), so the program draws for the right window from its first byte.
 */
export function shellRequest(cfg: ShellConfig, io: AttachIo, env: NodeJS.ProcessEnv): ShellRequest {
  const [command, ...args] = cfg.command ?? DEFAULT_SHELL
  const req: ShellRequest = { command, args }
  if (cfg.user !== undefined) req.user = cfg.user
  if (cfg.cwd !== undefined) req.working_dir = cfg.cwd
  if (env.TERM !== undefined && env.TERM !== '') req.env = { TERM: env.TERM }
  const { columns, rows } = io.stdout
  if (io.stdout.isTTY === true && columns !== undefined && rows !== undefined && columns > 0 && rows > 0) {
    req.cols = Math.min(columns, 1000)
    req.rows = Math.min(rows, 500)
  }
  return req
}

/** A failure before the terminal is attached: one line for stderr. */
class ShellError extends Error {}

/**
 * Resolves with the session's exit code (128 + N for a signal), or 1 when the session
 * cannot be made or the connection fails; every failure is one line on stderr.
 */
export async function shellCommand(cfg: ShellConfig, io: AttachIo, env: NodeJS.ProcessEnv): Promise<number> {
  // As for serve: a --token no longer shows in /proc/<pid>/cmdline.
  process.title = 'sandproc shell'
  let created: { session_id: string; token: string }
  try {
    created = await createSession(cfg, shellRequest(cfg, io, env))
  } catch (err) {
    if (!(err instanceof ShellError)) throw err
    io.stderr.write(`sandproc: ${err.message}\n`)
    return 1
  }
  const status = await attachCommand({ url: cfg.url, sessionId: created.session_id, token: created.token }, io)
  await settle(cfg, created, io)
  return status
}

async function createSession(cfg: ShellConfig, body: ShellRequest): Promise<{ session_id: string; token: string }> {
  const endpoint = `${cfg.url}/api/v1/pty`
  let res: Response
  try {
    res = await call(cfg, endpoint, 'POST', body)
  } catch (err) {
    throw new ShellError(`cannot reach ${cfg.url}: ${reason(err)}`)
  }
  const answer: unknown = await res.json().catch(() => null)
  const fields = typeof answer === 'object' && answer !== null ? (answer as Record<string, unknown>) : {}
  if (res.ok && typeof fields.session_id === 'string' && typeof fields.token === 'string') {
    return { session_id: fields.session_id, token: fields.token }
  }
  if (typeof fields.error !== 'string' || typeof fields.code !== 'string') {
    throw new ShellError(
      `${endpoint} answered HTTP ${res.status} without a sandproc answer: is ${cfg.url} a sandproc server?`,
    )
  }
  throw new ShellError(
    `the server refused the session: ${fields.error} (HTTP ${res.status} ${fields.code})${hint(res.status, cfg)}`,
  )
}

/** What to try next, for the two refusals that are the user's own mistake. */
function hint(status: number, cfg: ShellConfig): string {
  if (status === 401)
    return cfg.token === undefined ? ': give --token or set SANDPROC_TOKEN' : ': check --token or SANDPROC_TOKEN'
  if (status === 404) return ": URL is the server's address alone, such as http://127.0.0.1:9501"
  return ''
}

/**
 * The session is this command's own: deleted once it has ended, so it does not stay
 * listed; left running (with how to reattach) when we detached from a live one.
 */
async function settle(cfg: ShellConfig, created: { session_id: string; token: string }, io: AttachIo): Promise<void> {
  const path = `${cfg.url}/api/v1/pty/${encodeURIComponent(created.session_id)}`
  try {
    const res = await call(cfg, path, 'GET')
    const info = (await res.json()) as { is_alive?: unknown }
    if (res.status === 200 && info.is_alive === false) {
      await call(cfg, path, 'DELETE')
      return
    }
    if (res.status === 404) return
  } catch {
    // The server is out of reach: the session may still run there.
  }
  io.stderr.write(
    `sandproc: session ${created.session_id} may still be running; reattach with ` +
      `SANDPROC_PTY_TOKEN=${created.token} sandproc attach ${cfg.url} ${created.session_id}\n`,
  )
}

function call(cfg: ShellConfig, url: string, method: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {}
  if (cfg.token !== undefined) headers.authorization = `Bearer ${cfg.token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  return fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
}

/**
 * fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, ...);
 * OpenSSL's messages are a dump of internals, so for them the code says enough.
 */
function reason(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err
  if (!(cause instanceof Error)) return String(cause)
  const code = (cause as NodeJS.ErrnoException).code
  return typeof code === 'string' && code.startsWith('ERR_SSL') ? `TLS failed (${code})` : cause.message
}
