/**
 * Fuzzing a live PTY socket (docs/hardening.md): arbitrary client frames on a real
 * session, each connection checked for "a close with 1008/1009 or an echo, the session
 * alive, the server still serving".
 */
import fc from 'fast-check'
import { WebSocket } from 'ws'

import { clientFrames } from './arbitraries.js'
import { checkServes, type FuzzTarget } from './http.js'

/** A session running `cat`, for {@link ptyFrameProperty}. */
export async function catSession(t: FuzzTarget): Promise<{ id: string; token: string }> {
  const res = await fetch(`${t.url}/api/v1/pty`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${t.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ command: 'cat' }),
  })
  if (res.status !== 201) throw new Error(`POST /pty: ${res.status}`)
  const { session_id: id, token } = (await res.json()) as { session_id: string; token: string }
  return { id, token }
}

let marks = 0

/**
 * Sends the frames on a fresh connection, then a ready frame and a marker line: the
 * socket must either be closed by the server with 1008 or 1009 (a malformed frame) or
 * echo the marker, and the session must still be alive.
 */
export function ptyFrameProperty(
  t: FuzzTarget,
  session: { id: string; token: string },
): fc.IAsyncPropertyWithHooks<[Uint8Array[]]> {
  return fc.asyncProperty(clientFrames, async (frames) => {
    const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/api/v1/pty/${session.id}/ws?token=${session.token}`, {
      perMessageDeflate: false,
    })
    const mark = `mark${++marks}`
    const outcome = new Promise<string>((resolve) => {
      let text = ''
      ws.on('message', (data: Buffer) => {
        if (data[0] === 0) text += data.subarray(1).toString('latin1')
        if (text.includes(mark)) resolve('echoed')
      })
      ws.on('close', (code) => resolve(`closed ${code}`))
      ws.on('error', () => undefined)
    })
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    for (const frame of frames) ws.send(frame, { binary: true })
    ws.send(Uint8Array.from([2]), { binary: true })
    ws.send(Buffer.from(`\0${mark}\n`, 'latin1'), { binary: true })
    const got = await outcome
    ws.terminate()
    if (got !== 'echoed' && got !== 'closed 1008' && got !== 'closed 1009') throw new Error(`PTY socket: ${got}`)
    const info = await fetch(`${t.url}/api/v1/pty/${session.id}`, { headers: { Authorization: `Bearer ${t.token}` } })
    const body = (await info.json()) as { is_alive?: boolean }
    if (info.status !== 200 || body.is_alive !== true)
      throw new Error(`session gone: ${info.status} ${JSON.stringify(body)}`)
    if (t.errors.length > 0) throw new Error(`internal error: ${String(t.errors[0])}`)
    await checkServes(t)
  })
}
