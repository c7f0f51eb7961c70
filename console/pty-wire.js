// The PTY WebSocket's frames (docs/protocol.md "The socket") and the sessions this tab created, kept in
// sessionStorage so that a reload can reattach.

export const DATA = 0x00
export const RESIZE = 0x01
export const READY = 0x02
export const EXIT = 0x03

/** One binary frame: the opcode, then the payload. */
export function frame(op, payload = new Uint8Array(0)) {
  const bytes = new Uint8Array(payload.length + 1)
  bytes[0] = op
  bytes.set(payload, 1)
  return bytes
}

/** cols, then rows, each u16 big-endian. */
export function resizeFrame(cols, rows) {
  const payload = new Uint8Array(4)
  const view = new DataView(payload.buffer)
  view.setUint16(0, cols)
  view.setUint16(2, rows)
  return frame(RESIZE, payload)
}

/** The exit code of a 0x03 frame (i32 big-endian), or null for any other frame. */
export function exitCode(bytes) {
  if (bytes[0] !== EXIT || bytes.length < 5) return null
  return new DataView(bytes.buffer, bytes.byteOffset + 1, 4).getInt32(0)
}

/** Session id → its token, so that a reload of this tab can reattach. */
const SESSIONS_KEY = 'sandproc.pty'

export function recall() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSIONS_KEY) ?? '{}')
  } catch {
    return {}
  }
}

export function remember(session) {
  const all = recall()
  all[session.id] = { token: session.token, pid: session.pid }
  sessionStorage.setItem(SESSIONS_KEY, JSON.stringify(all))
}

export function forget(id) {
  const all = recall()
  delete all[id]
  sessionStorage.setItem(SESSIONS_KEY, JSON.stringify(all))
}
