/**
 * Pipe bytes to lines (docs/protocol.md "Lines"). Runs once per line a process prints,
 * so the loop decodes each line straight out of the chunk and allocates nothing but
 * the string.
 */

const LF = 10
const CR = 13

/** Pending storage past this size is released once its line is done (a huge line is rare). */
const KEEP_PENDING = 16 * 1024

const EMPTY = Buffer.alloc(0)

/**
 * Splits a byte stream into lines: on `\n`, with one trailing `\r` removed. A line longer
 * than `limit` bytes comes out as several pieces of at most `limit` bytes, cut before a
 * UTF-8 character rather than inside it. Invalid UTF-8 decodes to U+FFFD; no input makes
 * it throw. The same bytes give the same lines however they are chunked.
 *
 * `emit` is called synchronously and must not throw.
 */
export class LineSplitter {
  readonly limit: number
  /** Bytes of the line in progress (copied: a pipe's chunk buffer may be reused). */
  private pend: Buffer = EMPTY
  private pendLen = 0

  /** @param limit Longest piece in bytes (default 64 KiB); an integer >= 4, room for any UTF-8 character. */
  constructor(limit = 65536) {
    if (!Number.isSafeInteger(limit) || limit < 4) {
      throw new TypeError(`limit must be an integer >= 4, got ${String(limit)}`)
    }
    this.limit = limit
  }

  /** Feeds one chunk; `emit` receives every line the chunk completes, in order. */
  push(chunk: Uint8Array, emit: (line: string) => void): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const n = buf.length
    let pos = 0
    if (this.pendLen > 0) {
      const nl = buf.indexOf(LF)
      this.append(buf, 0, nl === -1 ? n : nl, emit)
      if (nl === -1) return
      this.emitLine(this.pend, 0, this.pendLen, emit)
      this.clearPending()
      pos = nl + 1
    }
    const last = buf.lastIndexOf(LF)
    if (last >= pos) {
      this.emitLines(buf, pos, last, emit)
      pos = last + 1
    }
    if (pos < n) this.append(buf, pos, n, emit)
  }

  /**
   * Emits the lines of `buf[start, end)`, which ends just before a `\n`. Decoding the
   * whole run once and slicing the string is several times cheaper than one decode per
   * line. It gives the same strings: a `\n` byte ends any unfinished UTF-8 sequence, so
   * replacement characters fall the same way. It is only valid while no line can exceed
   * the limit; a UTF-16 unit never stands for more than 3 bytes, so a run whose lines
   * are all shorter than limit/3 units qualifies, and any other run takes the byte path.
   */
  private emitLines(buf: Buffer, start: number, end: number, emit: (line: string) => void): void {
    const text = buf.toString('utf8', start, end)
    if (end - start > this.limit && !allShort(text, Math.floor(this.limit / 3))) {
      let nl: number
      while ((nl = buf.indexOf(LF, start)) !== -1 && nl <= end) {
        this.emitLine(buf, start, nl, emit)
        start = nl + 1
      }
      return
    }
    let from = 0
    for (;;) {
      const nl = text.indexOf('\n', from)
      const stop = nl === -1 ? text.length : nl
      emit(stop > from && text.charCodeAt(stop - 1) === CR ? text.slice(from, stop - 1) : text.slice(from, stop))
      if (nl === -1) return
      from = nl + 1
    }
  }

  /** The bytes of the line in progress (a live upgrade hands them over). */
  get pending(): Buffer {
    return Buffer.from(this.pend.subarray(0, this.pendLen))
  }

  /** Takes `bytes` as the line in progress (from {@link pending} of the old server's splitter). */
  set pending(bytes: Buffer) {
    this.clearPending()
    this.store(bytes, 0, bytes.length)
  }

  /** At EOF: emits the unterminated last line, if any bytes of it are pending. */
  end(emit: (line: string) => void): void {
    if (this.pendLen === 0) return
    this.emitLine(this.pend, 0, this.pendLen, emit)
    this.clearPending()
  }

  /** Emits `buf[start, end)` as one line (its `\n` already excluded). */
  private emitLine(buf: Buffer, start: number, end: number, emit: (line: string) => void): void {
    if (end > start && buf[end - 1] === CR) end--
    while (end - start > this.limit) {
      const cut = cutPoint(buf, start, start + this.limit)
      emit(buf.toString('utf8', start, cut))
      start = cut
    }
    emit(buf.toString('utf8', start, end))
  }

  /**
   * Adds `buf[from, to)` (no `\n` in it) to the pending line, emitting every piece that is
   * certain to be followed by more of the line, so that pending bytes stay within
   * `limit + 1` and a cut never depends on how the bytes were chunked.
   */
  private append(buf: Buffer, from: number, to: number, emit: (line: string) => void): void {
    if (this.pendLen === 0) {
      from = this.emitPieces(buf, from, to, emit)
      this.store(buf, from, to)
      return
    }
    while (from < to) {
      // Top up to just past one piece, so every round can cut and pending stays small.
      const take = Math.min(to - from, this.limit + 2 - this.pendLen)
      this.store(buf, from, from + take)
      from += take
      const used = this.emitPieces(this.pend, 0, this.pendLen, emit)
      if (used > 0) {
        this.pend.copyWithin(0, used, this.pendLen)
        this.pendLen -= used
      }
    }
  }

  /** Emits the pieces of `buf[start, end)` that more bytes surely follow; returns where the rest begins. */
  private emitPieces(buf: Buffer, start: number, end: number, emit: (line: string) => void): number {
    // A last `\r` may be the `\r` of `\r\n`: it must not count as line content yet.
    const content = end > start && buf[end - 1] === CR ? end - 1 : end
    while (content - start > this.limit) {
      const cut = cutPoint(buf, start, start + this.limit)
      emit(buf.toString('utf8', start, cut))
      start = cut
    }
    return start
  }

  /** Appends `buf[from, to)` to the pending bytes, growing the storage if needed. */
  private store(buf: Buffer, from: number, to: number): void {
    const need = this.pendLen + (to - from)
    if (need > this.pend.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, Math.min(this.pend.length * 2, this.limit + 2), 64))
      this.pend.copy(grown, 0, 0, this.pendLen)
      this.pend = grown
    }
    buf.copy(this.pend, this.pendLen, from, to)
    this.pendLen = need
  }

  private clearPending(): void {
    this.pendLen = 0
    if (this.pend.length > KEEP_PENDING) this.pend = EMPTY
  }
}

/** Whether every `\n`-separated line of `text` has at most `max` UTF-16 units. */
function allShort(text: string, max: number): boolean {
  let from = 0
  for (;;) {
    const nl = text.indexOf('\n', from)
    if ((nl === -1 ? text.length : nl) - from > max) return false
    if (nl === -1) return true
    from = nl + 1
  }
}

/**
 * Where to end a piece that may be at most `max - start` bytes: `max` itself, unless a
 * UTF-8 character starting before `max` runs past it; then at that character's first
 * byte. Invalid sequences are cut anywhere: they decode to U+FFFD either way.
 */
function cutPoint(buf: Buffer, start: number, max: number): number {
  if ((buf[max] & 0xc0) !== 0x80) return max
  const floor = Math.max(start + 1, max - 3)
  let q = max - 1
  while (q >= floor && (buf[q] & 0xc0) === 0x80) q--
  if (q < floor) return max
  const lead = buf[q]
  const len = lead >= 0xf5 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 1
  return q + len > max ? q : max
}
