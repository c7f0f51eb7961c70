/**
 * The workload 7 load generator, in a process of its own: C clients on loopback, each
 * running `POST /api/v1/processes/run` of one program in a loop on its own keep-alive
 * connection for S seconds. A run counts when its SSE stream ended with the exit frame
 * `exit_code: 0`; anything else (a status other than 200, a reset, a bad last frame) is
 * an error. Prints one JSON line (LoadReport).
 *
 * usage: server-load/load.ts PORT TOKEN SECONDS CLIENTS PROGRAM
 */
import { Agent, request } from 'node:http'

export interface LoadReport {
  runs: number
  errors: number
  firstError: string | null
  durationMs: number
  runsPerSec: number
  p50Ms: number
  p99Ms: number
}

const [portArg, token, secondsArg, clientsArg, program] = process.argv.slice(2)
const port = Number(portArg)
const seconds = Number(secondsArg)
const clients = Number(clientsArg)
if (!(port > 0 && seconds > 0 && clients > 0) || token === undefined || program === undefined) {
  throw new TypeError('usage: server-load/load.ts PORT TOKEN SECONDS CLIENTS PROGRAM')
}

const agent = new Agent({ keepAlive: true, maxSockets: clients })
const payload = JSON.stringify({ command: program, args: [] })
const EXIT_OK = Buffer.from('"exit_code":0')

function once(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/processes/run',
        agent,
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.once('end', () => {
          const body = Buffer.concat(chunks)
          if (res.statusCode !== 200)
            return reject(new Error(`status ${res.statusCode}: ${body.toString().slice(0, 200)}`))
          // The stream's last frame is the exit event.
          const tail = body.subarray(Math.max(0, body.length - 200))
          if (!tail.includes(EXIT_OK)) return reject(new Error(`stream did not end in exit_code 0: ${tail.toString()}`))
          resolve()
        })
        res.once('error', reject)
      },
    )
    req.once('error', reject)
    req.end(payload)
  })
}

const latencies: number[] = []
let errors = 0
let firstError: string | null = null
const t0 = performance.now()
const deadline = t0 + seconds * 1000

async function client(): Promise<void> {
  while (performance.now() < deadline) {
    const t = performance.now()
    try {
      await once()
      latencies.push(performance.now() - t)
    } catch (err) {
      errors++
      firstError ??= (err as Error).message
    }
  }
}

await Promise.all(Array.from({ length: clients }, client))
const durationMs = performance.now() - t0
agent.destroy()
latencies.sort((a, b) => a - b)
const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
const report: LoadReport = {
  runs: latencies.length,
  errors,
  firstError,
  durationMs,
  runsPerSec: latencies.length / (durationMs / 1000),
  p50Ms: at(0.5),
  p99Ms: at(0.99),
}
process.stdout.write(JSON.stringify(report) + '\n')
