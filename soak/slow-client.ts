/**
 * A slow reader of `POST /api/v1/processes/run`, run as its own process so that the
 * server's memory can be measured alone. Every `stallEvery` bytes of lines it stops
 * reading until the writer (pid from the start frame) is held back by its full pipe, then
 * goes on. Checks that the lines are exactly those of `flood lines <bytes> <len>`, in
 * order. Prints {status, lines, bad, exit, stalls} as JSON.
 * Usage: node --import tsx slow-client.ts <url> <token> <request json> <line len> <stallEvery>
 */
import http from 'node:http'

import { floodLine, heldBack } from '../test/helpers/hardening.js'

const [url, token, body, lenText, stallText] = process.argv.slice(2)
const len = Number(lenText)
const stallEvery = Number(stallText)

const expectedLine = (seq: number): string => floodLine(seq, len)

const result = { status: 0, lines: 0, bad: null as string | null, exit: null as unknown, stalls: 0, frames: 0 }
const req = http.request(url, {
  method: 'POST',
  headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
})
req.end(body)
req.on('response', (res) => {
  result.status = res.statusCode ?? 0
  res.setEncoding('utf8')
  let pending = ''
  let pid = 0
  let sinceStall = 0
  let stalling = false
  res.on('data', (chunk: string) => {
    pending += chunk
    let end: number
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const frame = pending.slice(0, end)
      pending = pending.slice(end + 2)
      if (!frame.startsWith('data: ')) continue
      result.frames++
      const data = JSON.parse(frame.slice(6)) as { pid?: number; line?: string; exit_code?: number; signal?: number }
      if (data.pid !== undefined) pid = data.pid
      else if (data.line !== undefined) {
        if (result.bad === null && data.line !== expectedLine(result.lines))
          result.bad = `line ${result.lines}: ${data.line.slice(0, 40)}`
        result.lines++
        sinceStall += len
      } else result.exit = data
    }
    if (sinceStall >= stallEvery && !stalling && pid > 0 && result.exit === null) {
      sinceStall = 0
      stalling = true
      res.pause()
      heldBack(pid).then(
        () => {
          result.stalls++
          stalling = false
          res.resume()
        },
        () => {
          // The writer finished before it filled the pipe: nothing to hold back.
          stalling = false
          res.resume()
        },
      )
    }
  })
  res.on('end', () => {
    process.stdout.write(JSON.stringify(result) + '\n')
  })
})
req.on('error', (err) => {
  process.stdout.write(JSON.stringify({ ...result, bad: `request error ${err.message}` }) + '\n')
})
