/**
 * The naive server workload 5 compares against: what one writes in an afternoon with
 * child_process + readline, one `res.write` per line, no backpressure. Same route, body
 * and frames as sandproc's `POST /api/v1/processes/run`.
 */
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import readline from 'node:readline'

export function createNaiveServer(): Server {
  return createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/api/v1/processes/run') {
      res.writeHead(404).end()
      return
    }
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      const { command, args } = JSON.parse(body) as { command: string; args?: string[] }
      const child = spawn(command, args ?? [], { stdio: ['ignore', 'pipe', 'pipe'] })
      const frame = (payload: unknown): boolean => res.write(`data: ${JSON.stringify(payload)}\n\n`)
      child.once('spawn', () => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' })
        frame({ handle: 1, pid: child.pid, started_at: Date.now() })
      })
      child.once('error', (err) => {
        res.writeHead(422, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: err.message }))
      })
      for (const stream of ['stdout', 'stderr'] as const) {
        readline
          .createInterface({ input: child[stream], crlfDelay: Infinity })
          .on('line', (line) => frame({ line, timestamp: Date.now(), stream }))
      }
      child.once('close', (code, signal) => {
        frame(code !== null ? { exit_code: code } : { signal })
        res.end()
      })
      res.once('close', () => child.kill('SIGKILL'))
    })
  })
}
