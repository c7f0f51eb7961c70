/**
 * The workload 5 client: POSTs a run request and consumes the SSE response. It counts
 * frames by scanning for the blank line that ends each one instead of parsing every
 * JSON payload, so that the client is not the bottleneck it is meant to measure; the
 * first and last frames are parsed to check the stream is a real, complete run.
 */
import { request } from 'node:http'

export interface RunStreamResult {
  /** Output lines delivered (data frames minus the start and exit frames). */
  lines: number
  bytes: number
  ms: number
}

const BLANK_LINE = Buffer.from('\n\n')
const DATA_PREFIX = 'data: '

export function runOverSse(port: number, token: string, body: object): Promise<RunStreamResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const payload = JSON.stringify(body)
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/processes/run',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`run answered ${res.statusCode}`))
          res.resume()
          return
        }
        let carry: Buffer = Buffer.alloc(0)
        let dataFrames = 0
        let bytes = 0
        let firstFrame: string | null = null
        let lastFrame = ''
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length
          const buf = carry.length === 0 ? chunk : Buffer.concat([carry, chunk])
          let start = 0
          let lastStart = -1
          let lastEnd = -1
          for (let end = buf.indexOf(BLANK_LINE, start); end >= 0; end = buf.indexOf(BLANK_LINE, start)) {
            // 0x64 is 'd': comments (': keep-alive') and other fields are not data frames.
            if (buf[start] === 0x64) {
              dataFrames++
              if (firstFrame === null) firstFrame = buf.toString('utf8', start, end)
              lastStart = start
              lastEnd = end
            }
            start = end + 2
          }
          // Decoded once per chunk, not per frame: only the very last one is checked.
          if (lastStart >= 0) lastFrame = buf.toString('utf8', lastStart, lastEnd)
          carry = buf.subarray(start)
        })
        res.once('end', () => {
          const ms = performance.now() - t0
          const first = JSON.parse((firstFrame ?? '').slice(DATA_PREFIX.length) || 'null') as { pid?: number } | null
          const last = JSON.parse(lastFrame.slice(DATA_PREFIX.length) || 'null') as { exit_code?: number } | null
          if (typeof first?.pid !== 'number' || last?.exit_code !== 0) {
            reject(new Error(`incomplete stream: first ${firstFrame} last ${lastFrame}`))
            return
          }
          resolve({ lines: dataFrames - 2, bytes, ms })
        })
        res.once('error', reject)
      },
    )
    req.once('error', reject)
    req.end(payload)
  })
}
