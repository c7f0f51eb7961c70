/**
 * Raw HTTP/1.1 exchanges over a TCP socket, for requests no well-behaved client sends
 * (undecodable targets, upgrade offers, stalled readers).
 */
import net from 'node:net'

/** A raw response: the status, the headers (lower-cased names) and the body as text. */
export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** Sends `request` (the exact bytes) and reads until the server closes the connection. */
export function rawRequest(url: string, request: string | Buffer): Promise<RawResponse> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname)
    const chunks: Buffer[] = []
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.on('error', reject)
    socket.on('end', () => {
      socket.destroy()
      resolve(parseResponse(Buffer.concat(chunks).toString('latin1')))
    })
    socket.write(request)
  })
}

/** The bytes of a request: `Connection: close` is added so that the server ends the exchange. */
export function requestText(method: string, target: string, headers: Record<string, string> = {}, body = ''): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1']
  const all: Record<string, string> = { ...headers }
  if (body !== '') all['Content-Length'] = String(Buffer.byteLength(body))
  for (const [name, value] of Object.entries(all)) lines.push(`${name}: ${value}`)
  return `${lines.join('\r\n')}\r\n\r\n${body}`
}

export function parseResponse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n')
  if (end === -1) return { status: 0, headers: {}, body: text }
  const [statusLine, ...headerLines] = text.slice(0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of headerLines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body = text.slice(end + 4)
  if (headers['transfer-encoding'] === 'chunked') body = unchunk(body)
  return { status: Number(statusLine.split(' ')[1]), headers, body }
}

/** The body of a `Transfer-Encoding: chunked` response, as far as it arrived. */
export function unchunk(text: string): string {
  let out = ''
  let pos = 0
  for (;;) {
    const eol = text.indexOf('\r\n', pos)
    if (eol === -1) return out
    const size = parseInt(text.slice(pos, eol), 16)
    if (!(size > 0)) return out
    out += text.slice(eol + 2, eol + 2 + size)
    pos = eol + 2 + size + 2
  }
}

/**
 * Sends the same request on `count` connections at once: each sends all but the last
 * byte of its body, and once the server has received every request (`arrived` resolves)
 * each sends its last byte, so that the bodies complete in the same turn of the server's
 * loop. Resolves with each response's status; the sockets stay open until `close()`.
 */
export async function burst(
  url: string,
  request: string,
  count: number,
  arrived: Promise<void>,
): Promise<{ statuses: number[]; bodies: string[]; close: () => void }> {
  const { hostname, port } = new URL(url)
  const sockets = await Promise.all(
    Array.from({ length: count }, () => {
      return new Promise<net.Socket>((resolve, reject) => {
        const socket = net.connect(Number(port), hostname, () => resolve(socket))
        socket.on('error', reject)
      })
    }),
  )
  const answers = sockets.map(
    (socket) =>
      new Promise<{ status: number; body: string }>((resolve) => {
        let text = ''
        socket.on('data', (d: Buffer) => {
          text += d.toString('latin1')
          const end = text.indexOf('\r\n\r\n')
          if (end !== -1) resolve({ status: Number(text.split(' ')[1]), body: text.slice(end + 4) })
        })
        socket.on('error', () => undefined)
      }),
  )
  for (const socket of sockets) socket.write(request.slice(0, -1))
  await arrived
  for (const socket of sockets) socket.write(request.slice(-1))
  const got = await Promise.all(answers)
  return {
    statuses: got.map((g) => g.status),
    bodies: got.map((g) => g.body),
    close: () => sockets.forEach((socket) => socket.destroy()),
  }
}
