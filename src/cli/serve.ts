/**
 * `sandproc serve`: the HTTP server with a supervisor of its own, until SIGTERM/SIGINT.
 */
import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Writable } from 'node:stream'
import { UsageError, type ServeConfig } from './args.js'
import { isLoopback } from '../server/http/auth.js'
import { AuditLog } from '../server/monitor/audit-log.js'
import { resumeServer } from '../server/handover.js'
import { restorePtyEntries } from '../server/pty/handover.js'
import { ptySessionsOf } from '../server/pty/socket.js'
import { createServer, DEFAULT_MAX_PROCESSES, shutdown } from '../server/server.js'
import { Supervisor } from '../supervisor.js'
import { cgroupLines, fdLimit, fdLine, openFdCount } from './startup.js'
import { carryRequestContext, startTracing } from './tracing.js'
import { adoptServe, onUpgradeSignal } from './upgrade.js'

/**
 * Starts the server and resolves with the exit status once a SIGTERM or SIGINT has shut
 * it down gracefully (0), or with 1 when it cannot listen.
 *
 * @throws UsageError when asked to serve without a token on a non-loopback host.
 */
export async function serveCommand(cfg: ServeConfig, stderr: Writable): Promise<number> {
  // Overwrites the argument area, so a `--token` no longer shows in /proc/<pid>/cmdline
  // (readable by every local user, the processes we run included).
  process.title = 'sandproc serve'
  const supervisorOptions = {
    // The processes get the server's environment minus its own settings: above all
    // SANDPROC_TOKEN, which would hand every process the key to the whole API.
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SANDPROC_'))),
    retainBytes: cfg.retainBytes,
    retainHeadBytes: cfg.retainHeadBytes,
    maxExited: cfg.maxExited,
    lineLimit: cfg.lineLimit,
    memoryLimit: cfg.memoryLimit,
    pidsLimit: cfg.pidsLimit,
    cpuLimit: cfg.cpuLimit,
    killGrace: cfg.killGraceMs,
    // SIGUSR2 hands the processes over (docs/upgrade.md).
    handover: true,
    ...(cfg.cgroupParent === undefined ? {} : { cgroup: { parent: cfg.cgroupParent } }),
  }
  // Started by a live upgrade: the old server's processes, socket and token.
  const inherited = adoptServe(supervisorOptions)
  // In the same tick: the carried `run` streams must see every event of their processes.
  // The HTTP server, once made: it takes back the carried streams' connections.
  const made: { server?: Server } = {}
  const runStreams =
    inherited === null
      ? undefined
      : resumeServer(inherited.supervisor, inherited.extra.server, { keepAliveMs: cfg.keepAliveMs }, () => made.server)
  let token = inherited?.extra.token ?? cfg.token
  if (inherited !== null) {
    const terminals = inherited.ptys.length === 0 ? '' : ` and ${inherited.ptys.length} PTY sessions`
    stderr.write(
      `sandproc: upgraded in place, ${inherited.supervisor.running} processes${terminals} taken over ` +
        `(${inherited.swapMs} ms from the old program's state to this one's)\n`,
    )
  } else if (token === undefined && cfg.allowNoAuth) {
    if (!isLoopback(cfg.host)) {
      throw new UsageError(`--allow-no-auth needs a loopback --host, not ${cfg.host}`)
    }
  } else if (token === undefined) {
    token = randomBytes(24).toString('base64url')
    // Printed once, here; it is never logged again.
    stderr.write(`sandproc: generated token (set SANDPROC_TOKEN to choose one): ${token}\n`)
  }
  const tracing = await startTracing(process.env, (err) => {
    stderr.write(`sandproc: trace export failed: ${err instanceof Error ? err.message : String(err)}\n`)
  })
  let auditLog: AuditLog | undefined
  if (cfg.auditLog !== undefined) {
    try {
      auditLog = new AuditLog(cfg.auditLog)
    } catch (err) {
      stderr.write(`sandproc: cannot open the audit log: ${err instanceof Error ? err.message : String(err)}\n`)
      await tracing?.shutdown()
      return 1
    }
    // The SDK's provider carries the request context already; without it, the trace id of a
    // request still reaches the audit log this way.
    if (tracing === null) await carryRequestContext()
  }
  const supervisor = inherited?.supervisor ?? new Supervisor(supervisorOptions)
  // Where it stands, before anything else: OOM detection is why sandproc exists, and an
  // fd limit below the process cap is a capacity that should not surprise anyone.
  for (const line of cgroupLines(supervisor.capabilities)) stderr.write(`${line}\n`)
  stderr.write(`${fdLine(fdLimit(), openFdCount(), cfg.maxProcesses ?? DEFAULT_MAX_PROCESSES)}\n`)
  const server = createServer({
    supervisor,
    runStreams,
    token,
    allowNoAuth: cfg.allowNoAuth,
    console: cfg.console,
    maxProcesses: cfg.maxProcesses,
    maxJsonBytes: cfg.maxJsonBytes,
    maxStdinBytes: cfg.maxStdinBytes,
    maxStdinQueueBytes: cfg.maxStdinQueueBytes,
    keepAliveMs: cfg.keepAliveMs,
    maxPtySessions: cfg.maxPtySessions,
    auditLog,
  })
  made.server = server
  // The old server's PTY sessions, listed again before anyone can connect.
  if (inherited !== null) restorePtyEntries(ptySessionsOf(server)!, inherited.extra.server?.pty ?? [], inherited.ptys)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      const listening = (): void => {
        server.off('error', reject)
        resolve()
      }
      if (inherited !== null && inherited.extra.listenFd >= 0)
        server.listen({ fd: inherited.extra.listenFd }, listening)
      else server.listen(cfg.port, cfg.host, listening)
    })
  } catch (err) {
    stderr.write(
      `sandproc: cannot listen on ${cfg.host}:${cfg.port}: ${err instanceof Error ? err.message : String(err)}\n`,
    )
    await supervisor.close()
    auditLog?.close()
    await tracing?.shutdown()
    return 1
  }
  // Before the line that says it listens: whoever waits for that line may signal at once.
  const stopUpgrades = onUpgradeSignal(server, supervisor, token, stderr)
  const { address, port } = server.address() as AddressInfo
  const host = address.includes(':') ? `[${address}]` : address
  stderr.write(`sandproc: listening on http://${host}:${port}\n`)
  if (cfg.console) stderr.write(`sandproc: console at http://${host}:${port}/ (append #token=... to skip the prompt)\n`)

  // logrotate renames the file, then sends SIGHUP: the next line goes to a new file.
  const reopen = (): void => {
    try {
      auditLog?.reopen()
    } catch (err) {
      stderr.write(`sandproc: cannot reopen the audit log: ${err instanceof Error ? err.message : String(err)}\n`)
    }
  }
  if (auditLog !== undefined) process.on('SIGHUP', reopen)

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
      resolve(sig)
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
  stopUpgrades()
  stderr.write(`sandproc: ${signal}, shutting down\n`)
  // A second signal while the processes get their grace period means "now".
  const force = (): void => {
    stderr.write('sandproc: second signal, exiting at once\n')
    process.exit(1)
  }
  process.once('SIGTERM', force)
  process.once('SIGINT', force)
  try {
    await shutdown(server)
  } finally {
    process.off('SIGTERM', force)
    process.off('SIGINT', force)
    process.off('SIGHUP', reopen)
    auditLog?.close()
    // Flushes the spans of the last processes.
    await tracing?.shutdown()
  }
  stderr.write('sandproc: stopped\n')
  return 0
}
