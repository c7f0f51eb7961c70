/**
 * The binary frames of the PTY WebSocket (docs/protocol.md "The socket"): the first
 * byte is an opcode. Data both ways, resize and ready from the client, exit from the
 * server.
 */
import type { ExitEvent } from '../types.js'

export const Op = { Data: 0x00, Resize: 0x01, Ready: 0x02, Exit: 0x03 } as const

export type ClientFrame =
  | { op: typeof Op.Data; payload: Buffer }
  | { op: typeof Op.Resize; cols: number; rows: number }
  | { op: typeof Op.Ready }

const MAX_COLS = 1000
const MAX_ROWS = 500

/** A client frame, or null when it is malformed (empty, an unknown opcode, a bad resize). */
export function parseFrame(data: Buffer): ClientFrame | null {
  if (data.length === 0) return null
  switch (data[0]) {
    case Op.Data:
      return { op: Op.Data, payload: data.subarray(1) }
    case Op.Resize: {
      // cols then rows, u16 big-endian each, and nothing else.
      if (data.length !== 5) return null
      const cols = data.readUInt16BE(1)
      const rows = data.readUInt16BE(3)
      if (cols < 1 || cols > MAX_COLS || rows < 1 || rows > MAX_ROWS) return null
      return { op: Op.Resize, cols, rows }
    }
    case Op.Ready:
      return data.length === 1 ? { op: Op.Ready } : null
    default:
      return null
  }
}

/** The `0x03` frame's code: the exit code, or 128 + N for a death by signal N. */
export function exitCodeOf(ev: ExitEvent): number {
  return ev.exit_code ?? 128 + (ev.signal ?? 9)
}

/** Client-side helpers (the CLI, tests): a data, resize or ready frame. */
export function dataFrame(bytes: Uint8Array | string): Buffer {
  const payload = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes
  const frame = Buffer.allocUnsafe(payload.length + 1)
  frame[0] = Op.Data
  frame.set(payload, 1)
  return frame
}

export function resizeFrame(cols: number, rows: number): Buffer {
  const frame = Buffer.alloc(5)
  frame[0] = Op.Resize
  frame.writeUInt16BE(cols, 1)
  frame.writeUInt16BE(rows, 3)
  return frame
}

export const READY_FRAME = Buffer.from([Op.Ready])
