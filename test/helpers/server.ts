/**
 * Shared by the server tests: a real server on a loopback port with a real supervisor,
 * a fetch wrapper that adds the token, and an SSE reader built on eventsource-parser.
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { createServer, type ServerOptions } from '../../src/server/server.js'
import { Supervisor, type SupervisorOptions } from '../../src/supervisor.js'

export const TOKEN = 'test-token-of-some-length'

export interface TestServer {
  url: string
  sup: Supervisor
  server: Server
  /** Requests under /api/v1 with the token (or `token: null` for none). */
  api(path: string, init?: ApiInit): Promise<Response>
  close(): Promise<void>
}

export interface ApiInit {
  method?: string
  /** An object is sent as JSON; a string or Buffer as it is. */
  body?: unknown
  headers?: Record<string, string>
  token?: string | null
  signal?: AbortSignal
}

export async function startServer(
  opts: Partial<ServerOptions> = {},
  supOpts: SupervisorOptions = {},
): Promise<TestServer> {
  const sup = opts.supervisor ?? new Supervisor(supOpts)
  const server = createServer({ token: TOKEN, onError: () => undefined, ...opts, supervisor: sup })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    sup,
    server,
    api: (path, init = {}) => {
      const headers: Record<string, string> = { ...init.headers }
      const token = init.token === undefined ? TOKEN : init.token
      if (token !== null) headers.authorization = `Bearer ${token}`
      let body: string | Uint8Array<ArrayBuffer> | undefined
      if (typeof init.body === 'string') body = init.body
      else if (Buffer.isBuffer(init.body)) body = Uint8Array.from(init.body)
      else if (init.body !== undefined) {
        body = JSON.stringify(init.body)
        headers['content-type'] = 'application/json'
      }
      return fetch(`${url}/api/v1${path}`, { method: init.method ?? 'GET', headers, body, signal: init.signal })
    },
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await sup.close()
    },
  }
}

/** What an event stream delivered. */
export interface SseResult {
  messages: EventSourceMessage[]
  comments: string[]
  /** The exact text received. */
  raw: string
}

/**
 * Reads an event stream to its end, or until `stop` says enough (then the connection is
 * cancelled, as a client that goes away).
 */
export async function readSse(res: Response, stop?: (r: SseResult) => boolean): Promise<SseResult> {
  const result: SseResult = { messages: [], comments: [], raw: '' }
  const parser = createParser({
    onEvent: (ev) => result.messages.push(ev),
    onComment: (c) => result.comments.push(c),
  })
  if (res.body === null) return result
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    const text = decoder.decode(value, { stream: true })
    result.raw += text
    parser.feed(text)
    if (stop?.(result) === true) {
      await reader.cancel()
      break
    }
  }
  return result
}

/** The parsed `data` of every message. */
export function dataOf(messages: EventSourceMessage[]): unknown[] {
  return messages.map((m) => JSON.parse(m.data) as unknown)
}

/** The JSON body of a response, for assertions. */
export async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>
}
