/**
 * Server-Sent Events framing (docs/protocol.md "Event streams"), free of any I/O so
 * that any HTTP framework can use it. Every function returns the exact text of one
 * frame, blank line included.
 *
 * `JSON.stringify` escapes every line break inside strings, so one JSON payload always
 * fits one `data:` line; the other fields are checked instead of escaped because the SSE
 * format has no escaping at all.
 */

/**
 * `data: {json}\n\n`: the bare frame that `POST /processes/run` sends for every event.
 *
 * @example dataFrame({ exit_code: 0 }) // 'data: {"exit_code":0}\n\n'
 */
export function dataFrame(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`
}

/**
 * The `data:` frame of an output event, byte for byte what {@link dataFrame} gives for
 * `{line, timestamp, stream}`, without stringifying an object per line (this runs once
 * per line a process prints; only the line itself needs escaping).
 */
export function outputFrame(ev: { line: string; data?: Buffer; timestamp: number; stream: string }): string {
  // output_encoding "base64": the read's exact bytes (base64 needs no JSON escaping).
  if (ev.data !== undefined)
    return `data: {"data":"${ev.data.toString('base64')}","timestamp":${ev.timestamp},"stream":"${ev.stream}"}\n\n`
  return `data: {"line":${JSON.stringify(ev.line)},"timestamp":${ev.timestamp},"stream":"${ev.stream}"}\n\n`
}

/**
 * A named event with an optional id, as the follow endpoints send them:
 * `event: output\nid: 3\ndata: {...}\n\n`.
 *
 * @throws TypeError when `event` or `id` contains a line break (it would split the frame).
 */
export function eventFrame(event: string, data: unknown, id?: number | string): string {
  checkField('event', event)
  let text = `event: ${event}\n`
  if (id !== undefined) {
    const idText = String(id)
    // A NUL in the id makes browsers ignore the field (WHATWG: "If the field value does
    // not contain U+0000 NULL").
    checkField('id', idText)
    if (idText.includes('\0')) throw new TypeError('id must not contain NUL')
    text += `id: ${idText}\n`
  }
  return `${text}data: ${JSON.stringify(data)}\n\n`
}

/**
 * `: text\n\n`, a comment that every SSE client ignores. Used as the keep-alive that
 * stops proxies and load balancers from closing an idle stream.
 *
 * @throws TypeError when `text` contains a line break.
 */
export function commentFrame(text: string): string {
  checkField('comment', text)
  return `: ${text}\n\n`
}

/** The keep-alive comment that every stream sends after a quiet spell. */
export const KEEP_ALIVE_FRAME = commentFrame('keep-alive')

/** Response headers of every event stream (docs/protocol.md "Event streams"). */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  // nginx buffers proxied responses unless told otherwise, which would hold frames back.
  'X-Accel-Buffering': 'no',
})

function checkField(name: string, value: string): void {
  if (/[\r\n]/.test(value)) throw new TypeError(`${name} must not contain a line break`)
}
