/**
 * `sandproc attach URL SESSION_ID [TOKEN]`: the local terminal on a PTY session of a
 * sandproc (or Tensorlake-compatible) server. Raw mode while attached, window-size
 * changes sent as resize frames, the session's exit code as ours, and the terminal
 * restored on every way out (the end, a dropped socket, a signal, an exception).
 */
import type { ReadStream, WriteStream } from 'node:tty'
import WebSocket from 'ws'

import { dataFrame, Op, READY_FRAME, resizeFrame } from '../pty/wire.js'
import { UsageError } from './args.js'

export interface AttachConfig {
  url: string
  sessionId: string
  token: string
}

export interface AttachIo {
  stdin: NodeJS.ReadableStream & Partial<Pick<ReadStream, 'isTTY' | 'setRawMode'>>
  stdout: NodeJS.WritableStream & Partial<Pick<WriteStream, 'isTTY' | 'columns' | 'rows'>>
  stderr: NodeJS.WritableStream
}

/** TOKEN may come from SANDPROC_PTY_TOKEN instead (then it is not in /proc/<pid>/cmdline). */
export function parseAttachArgs(
  argv: string[],
  env: NodeJS.ProcessEnv,
): { help: true } | ({ help: false } & AttachConfig) {
  if (argv.includes('-h') || argv.includes('--help')) return { help: true }
  const [url, sessionId, tokenArg, ...extra] = argv
  const token = tokenArg ?? env.SANDPROC_PTY_TOKEN
  if (url === undefined || sessionId === undefined) throw new UsageError('attach: expects URL SESSION_ID [TOKEN]')
  if (token === undefined || token === '')
    throw new UsageError('attach: missing TOKEN (argument or SANDPROC_PTY_TOKEN)')
  if (extra.length > 0) throw new UsageError(`attach: unexpected argument "${extra[0]}"`)
  if (!/^(https?|wss?):\/\//.test(url))
    throw new UsageError(`attach: URL must start with http://, https://, ws:// or wss://, got "${url}"`)
  return { help: false, url, sessionId, token }
}

/** Resolves with the session's exit code (128 + N for a signal), or 1 when the connection failed. */
export function attachCommand(cfg: AttachConfig, io: AttachIo): Promise<number> {
  process.title = 'sandproc attach'
  const base = cfg.url.replace(/^http/, 'ws').replace(/\/+$/, '')
  const ws = new WebSocket(`${base}/api/v1/pty/${encodeURIComponent(cfg.sessionId)}/ws`, {
    headers: { 'X-PTY-Token': cfg.token },
    perMessageDeflate: false,
  })
  const raw = io.stdin.isTTY === true && typeof io.stdin.setRawMode === 'function'
  let restored = false
  const restore = (): void => {
    if (restored) return
    restored = true
    if (raw) io.stdin.setRawMode?.(false)
    io.stdin.pause()
  }
  // An exception or process.exit elsewhere must not leave the terminal raw.
  process.once('exit', restore)
  const sendSize = (): void => {
    const { columns, rows } = io.stdout
    if (ws.readyState === WebSocket.OPEN && columns !== undefined && rows !== undefined && columns > 0 && rows > 0) {
      ws.send(resizeFrame(Math.min(columns, 1000), Math.min(rows, 500)))
    }
  }
  return new Promise<number>((resolve) => {
    let code: number | null = null
    const finish = (status: number, message?: string): void => {
      restore()
      process.off('SIGWINCH', sendSize)
      for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.off(sig, onSignal)
      process.off('exit', restore)
      if (message !== undefined) io.stderr.write(`sandproc: ${message}\n`)
      resolve(status)
    }
    const onSignal = (sig: NodeJS.Signals): void => {
      ws.terminate()
      finish(sig === 'SIGTERM' ? 143 : 129, `${sig}, detached (the session lives on)`)
    }
    for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal)
    ws.on('unexpected-response', (_req, res) => {
      finish(1, `attach refused: HTTP ${res.statusCode ?? '?'}`)
      ws.terminate()
    })
    ws.on('error', (err) => {
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate()
      finish(1, `attach failed: ${err.message}`)
    })
    ws.on('open', () => {
      if (raw) io.stdin.setRawMode?.(true)
      sendSize()
      process.on('SIGWINCH', sendSize)
      ws.send(READY_FRAME)
      io.stdin.on('data', (chunk: Buffer | string) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(dataFrame(typeof chunk === 'string' ? Buffer.from(chunk) : chunk))
      })
      io.stdin.resume()
    })
    ws.on('message', (data: Buffer) => {
      if (data[0] === Op.Data) io.stdout.write(data.subarray(1))
      else if (data[0] === Op.Exit && data.length >= 5) code = data.readInt32BE(1)
    })
    ws.on('close', (closeCode, reason) => {
      const why = reason.toString()
      const fromReason = /^exit:(-?\d+)$/.exec(why)
      if (code !== null) return finish(code)
      if (fromReason !== null) return finish(Number(fromReason[1]))
      finish(1, `connection closed: ${closeCode}${why === '' ? '' : ` ${why}`}`)
    })
  })
}
