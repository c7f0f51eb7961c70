/**
 * The floods of the soak (docs/guarantees.md): a writer of `bytes` of 100-byte lines as fast as it
 * can, read by a consumer that stalls every `stallEvery` bytes until the writer is held
 * back by its full pipe. Once through the library's async iteration, once through
 * `POST /api/v1/processes/run` to a slow client in another process. Reports the growth of
 * this process's peak RSS over its level before the flood.
 */
import { spawn } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { createServer } from '../src/server/server.js'
import type { Supervisor } from '../src/supervisor.js'
import { floodLine, heldBack, peakRssBytes, resetPeakRss, rssBytes } from '../test/helpers/hardening.js'

export interface FloodResult {
  bytes: number
  lines: number
  expectedLines: number
  inOrder: boolean
  stalls: number
  exit: unknown
  rssBeforeBytes: number
  peakGrowthBytes: number
}

const HERE = path.dirname(fileURLToPath(import.meta.url))

/** `bytes` of `len`-byte lines (100 by default) through async iteration. */
export async function libraryFlood(
  sup: Supervisor,
  flood: string,
  bytes: number,
  stallEvery: number,
  len = 100,
): Promise<FloodResult> {
  const before = rssBytes()
  resetPeakRss()
  const proc = sup.run({ command: flood, args: ['lines', String(bytes), String(len)] })
  const { pid } = await proc.started
  let lines = 0
  let inOrder = true
  let stalls = 0
  let since = 0
  let exit: unknown = null
  for await (const ev of proc) {
    if (!('line' in ev)) {
      if (!('pid' in ev)) exit = ev
      continue
    }
    if (inOrder && ev.line !== floodLine(lines, len)) inOrder = false
    lines++
    since += len
    if (since >= stallEvery && lines * len < bytes - stallEvery) {
      since = 0
      await heldBack(pid)
      stalls++
    }
  }
  return {
    bytes,
    lines,
    expectedLines: Math.floor(bytes / len),
    inOrder,
    stalls,
    exit,
    rssBeforeBytes: before,
    peakGrowthBytes: peakRssBytes() - before,
  }
}

/** The same through `POST /api/v1/processes/run` on a server of its own, to a slow client in another process. */
export async function serverFlood(
  sup: Supervisor,
  flood: string,
  bytes: number,
  stallEvery: number,
  len = 100,
): Promise<FloodResult & { status: number }> {
  const token = 'soak-token'
  const server = createServer({ supervisor: sup, token })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const before = rssBytes()
  resetPeakRss()
  const body = JSON.stringify({ command: flood, args: ['lines', String(bytes), String(len)] })
  const client = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(HERE, 'slow-client.ts'),
      `http://127.0.0.1:${port}/api/v1/processes/run`,
      token,
      body,
      String(len),
      String(stallEvery),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let text = ''
  client.stdout.setEncoding('utf8').on('data', (d: string) => (text += d))
  await new Promise<void>((resolve) => client.on('close', () => resolve()))
  const peakGrowthBytes = peakRssBytes() - before
  server.close()
  const r = JSON.parse(text) as { status: number; lines: number; bad: string | null; exit: unknown; stalls: number }
  return {
    status: r.status,
    bytes,
    lines: r.lines,
    expectedLines: Math.floor(bytes / len),
    inOrder: r.bad === null,
    stalls: r.stalls,
    exit: r.exit,
    rssBeforeBytes: before,
    peakGrowthBytes,
  }
}
