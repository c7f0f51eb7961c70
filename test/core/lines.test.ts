import { describe, expect, it } from 'vitest'
import { LineSplitter } from '../../src/core/lines.js'

const KiB = 1024

/** Feeds `chunks` through a fresh splitter and returns every line, EOF included. */
function split(chunks: (Uint8Array | string)[], limit?: number): string[] {
  const s = new LineSplitter(limit)
  const out: string[] = []
  const emit = (line: string): void => {
    out.push(line)
  }
  for (const c of chunks) s.push(typeof c === 'string' ? Buffer.from(c) : c, emit)
  s.end(emit)
  return out
}

function bytewise(data: Buffer, limit?: number): string[] {
  const chunks: Buffer[] = []
  for (let i = 0; i < data.length; i++) chunks.push(data.subarray(i, i + 1))
  return split(chunks, limit)
}

/** Deterministic PRNG (mulberry32) so that a failing case can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Cuts `data` at random places (empty chunks included). */
function randomChunks(data: Buffer, rand: () => number): Buffer[] {
  const chunks: Buffer[] = []
  let pos = 0
  while (pos < data.length) {
    const n = Math.floor(rand() * 40)
    chunks.push(data.subarray(pos, pos + n))
    pos += n
  }
  return chunks
}

describe('LineSplitter: line ends', () => {
  it('splits on \\n and keeps an empty line as ""', () => {
    expect(split(['a\nb\n\nc\n'])).toEqual(['a', 'b', '', 'c'])
    expect(split(['\n'])).toEqual([''])
    expect(split(['\n\n\n'])).toEqual(['', '', ''])
  })

  it('removes one trailing \\r only', () => {
    expect(split(['a\r\nb\r\r\n\r\n'])).toEqual(['a', 'b\r', ''])
  })

  it('keeps a \\r that does not end the line', () => {
    expect(split(['50%\r100%\n'])).toEqual(['50%\r100%'])
    expect(split(['a\r', 'b\n'])).toEqual(['a\rb'])
  })

  it('removes \\r when \\r and \\n arrive in different chunks', () => {
    expect(split(['abc\r', '\ndef\n'])).toEqual(['abc', 'def'])
    expect(split(['abc', '\r', '\n'])).toEqual(['abc'])
    expect(split(['\r', '\n'])).toEqual([''])
  })

  it('joins a line spread over many chunks', () => {
    expect(split(['he', 'l', '', 'lo\nwo', 'rld\n'])).toEqual(['hello', 'world'])
  })

  it('emits a partial last line at EOF, \\r removed, and nothing when no bytes are pending', () => {
    expect(split(['a\nlast'])).toEqual(['a', 'last'])
    expect(split(['a\nprogress\r'])).toEqual(['a', 'progress'])
    expect(split(['a\n'])).toEqual(['a'])
    expect(split([])).toEqual([])
    expect(split([''])).toEqual([])
  })

  it('does not emit at push time what is not terminated yet', () => {
    const s = new LineSplitter()
    const out: string[] = []
    s.push(Buffer.from('one\ntw'), (l) => out.push(l))
    expect(out).toEqual(['one'])
    s.push(Buffer.from('o\n'), (l) => out.push(l))
    expect(out).toEqual(['one', 'two'])
    s.end((l) => out.push(l))
    expect(out).toEqual(['one', 'two'])
  })

  it('copies its pending bytes: a reused chunk buffer does not corrupt them', () => {
    const s = new LineSplitter()
    const out: string[] = []
    const chunk = Buffer.from('x\npartial')
    s.push(chunk, (l) => out.push(l))
    chunk.fill(0x21)
    s.push(Buffer.from(' line\n'), (l) => out.push(l))
    expect(out).toEqual(['x', 'partial line'])
  })

  it('accepts plain Uint8Array chunks and views with an offset', () => {
    const backing = new TextEncoder().encode('zzab\ncd\nzz')
    expect(split([new Uint8Array(backing.buffer, 2, 5), new Uint8Array([0x65, 0x0a])])).toEqual(['ab', 'cde'])
  })
})

describe('LineSplitter: long lines', () => {
  it('cuts a 200 KB line into pieces of at most 64 KiB that join back', () => {
    const rand = rng(1)
    let line = ''
    while (line.length < 200_000) line += String.fromCharCode(0x21 + Math.floor(rand() * 94))
    const out = split([line + '\nafter\n'])
    expect(out.map((p) => p.length)).toEqual([65536, 65536, 65536, 200_000 - 3 * 65536, 5])
    expect(out.slice(0, 4).join('')).toBe(line)
    expect(out[4]).toBe('after')
  })

  it('cuts the same way when the long line arrives in small chunks or without \\n', () => {
    const line = 'abcdefghij'.repeat(20_000)
    const whole = split([line + '\n'])
    const chunks: string[] = []
    for (let i = 0; i < line.length; i += 777) chunks.push(line.slice(i, i + 777))
    expect(split([...chunks, '\n'])).toEqual(whole)
    expect(split(chunks)).toEqual(whole)
    expect(bytewise(Buffer.from(line))).toEqual(whole)
  })

  it('keeps a line of exactly the limit whole, also followed by \\r\\n in pieces', () => {
    const line = 'x'.repeat(64 * KiB)
    expect(split([line + '\n'])).toEqual([line])
    expect(split([line + '\r\n'])).toEqual([line])
    expect(split([line, '\r', '\n'])).toEqual([line])
    expect(split([line + '\r'])).toEqual([line])
    expect(split([line + 'y\r\n'])).toEqual([line, 'y'])
    expect(split([line, 'y\r', '\n'])).toEqual([line, 'y'])
  })

  it('never cuts inside a 2, 3 or 4 byte character at the limit', () => {
    for (const ch of ['é', '€', '😀']) {
      const size = Buffer.byteLength(ch)
      // Put the character so that it starts at every offset that makes it straddle the limit.
      for (let before = 64 * KiB - size + 1; before < 64 * KiB; before++) {
        const line = 'a'.repeat(before) + ch + 'b'.repeat(10)
        const out = split([line + '\n'])
        expect(out).toEqual(['a'.repeat(before), ch + 'b'.repeat(10)])
        expect(bytewise(Buffer.from(line + '\n'))).toEqual(out)
      }
      // Ending exactly at the limit: no back-up.
      const fits = 'a'.repeat(64 * KiB - size) + ch
      expect(split([fits + 'z\n'])).toEqual([fits, 'z'])
    }
  })

  it('cuts a line of only 4-byte characters at character boundaries with a small limit', () => {
    const line = '😀'.repeat(10)
    const out = split([line + '\n'], 10)
    expect(out).toEqual(['😀😀', '😀😀', '😀😀', '😀😀', '😀😀'])
    expect(split([line + '\n'], 7)).toEqual(Array(10).fill('😀'))
    expect(bytewise(Buffer.from(line + '\n'), 7)).toEqual(Array(10).fill('😀'))
  })

  it('rejects a limit that cannot hold every UTF-8 character', () => {
    expect(() => new LineSplitter(3)).toThrow(TypeError)
    expect(() => new LineSplitter(1.5)).toThrow(TypeError)
    expect(() => new LineSplitter(Number.NaN)).toThrow(TypeError)
    expect(new LineSplitter(4).limit).toBe(4)
    expect(new LineSplitter().limit).toBe(65536)
  })
})

describe('LineSplitter: UTF-8', () => {
  it('decodes 2, 3 and 4 byte characters split across chunks at every byte', () => {
    const text = 'é€😀 ok é€😀\n'
    const data = Buffer.from(text)
    for (let cut = 1; cut < data.length; cut++) {
      expect(split([data.subarray(0, cut), data.subarray(cut)])).toEqual(['é€😀 ok é€😀'])
    }
    expect(bytewise(data)).toEqual(['é€😀 ok é€😀'])
  })

  it('turns a lone 0xff into U+FFFD and keeps splitting', () => {
    const data = Buffer.from([0x61, 0xff, 0x62, 0x0a, 0xff, 0x0a, 0x63, 0x0a])
    expect(split([data])).toEqual(['a\ufffdb', '\ufffd', 'c'])
    expect(bytewise(data)).toEqual(['a\ufffdb', '\ufffd', 'c'])
  })

  it('turns truncated sequences into U+FFFD, also when cut by \\n or EOF', () => {
    // "€" is e2 82 ac; "😀" is f0 9f 98 80.
    const data = Buffer.from([0xe2, 0x82, 0x0a, 0xf0, 0x9f, 0x98, 0x41, 0x0a, 0x80, 0x0a, 0xc3])
    const expected = ['\ufffd', '\ufffdA', '\ufffd', '\ufffd']
    expect(split([data])).toEqual(expected)
    expect(bytewise(data)).toEqual(expected)
  })

  it('survives invalid bytes at the limit boundary', () => {
    const limit = 8
    const cases = [
      [...Buffer.from('abcdefg'), 0xe2, 0x82, 0x41, 0x0a],
      [...Buffer.from('abcdefg'), 0x80, 0x80, 0x80, 0x80, 0x80, 0x0a],
      [...Buffer.from('abcde'), 0xf8, 0x88, 0x80, 0x80, 0x80, 0x0a],
      [...Buffer.from('abcdef'), 0xc0, 0x80, 0x80, 0x0a],
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0a],
    ]
    for (const bytes of cases) {
      const data = Buffer.from(bytes)
      const out = split([data], limit)
      expect(out.length).toBeGreaterThan(1)
      expect(out.join('')).toMatch(/\ufffd/)
      expect(bytewise(data, limit)).toEqual(out)
    }
  })
})

describe('LineSplitter: chunking does not matter (seeded random data)', () => {
  // Bytes rich in the cases that matter: line ends, \r, multibyte characters, invalid bytes.
  const pieces = ['\n', '\r', '\r\n', 'a', 'bc', 'é', '€', '😀', '\u0800', '\uffff']
  const invalid = [0xff, 0x80, 0xc3, 0xe2, 0xf0, 0xf4, 0xc0]

  function randomData(rand: () => number, size: number, withInvalid: boolean): Buffer {
    const parts: Buffer[] = []
    let n = 0
    while (n < size) {
      const r = rand()
      const part =
        withInvalid && r < 0.1
          ? Buffer.from([invalid[Math.floor(rand() * invalid.length)]])
          : r < 0.15
            ? Buffer.from('x'.repeat(Math.floor(rand() * 40)))
            : Buffer.from(pieces[Math.floor(rand() * pieces.length)])
      parts.push(part)
      n += part.length
    }
    return Buffer.concat(parts)
  }

  /** Independent reference for valid UTF-8: greedy pieces over whole characters. */
  function reference(text: string, limit: number): string[] {
    const lines = text.split('\n')
    const last = lines.pop() as string
    if (last !== '') lines.push(last)
    const out: string[] = []
    for (let line of lines) {
      if (line.endsWith('\r')) line = line.slice(0, -1)
      let piece = ''
      let bytes = 0
      for (const ch of line) {
        const size = Buffer.byteLength(ch)
        if (bytes + size > limit) {
          out.push(piece)
          piece = ''
          bytes = 0
        }
        piece += ch
        bytes += size
      }
      out.push(piece)
    }
    return out
  }

  it('valid UTF-8: whole, random chunks and byte-at-a-time all match the reference', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rand = rng(seed)
      const limit = [4, 5, 7, 16, 64][seed % 5]
      const data = randomData(rand, 400, false)
      const expected = reference(data.toString('utf8'), limit)
      expect(split([data], limit), `seed ${seed}`).toEqual(expected)
      expect(split(randomChunks(data, rand), limit), `seed ${seed}`).toEqual(expected)
      expect(bytewise(data, limit), `seed ${seed}`).toEqual(expected)
      for (const piece of expected) expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(limit)
    }
  })

  it('invalid UTF-8 mixed in: random chunks and byte-at-a-time equal whole feeding', () => {
    for (let seed = 100; seed < 160; seed++) {
      const rand = rng(seed)
      const limit = [4, 6, 9, 32][seed % 4]
      const data = randomData(rand, 400, true)
      const whole = split([data], limit)
      expect(split(randomChunks(data, rand), limit), `seed ${seed}`).toEqual(whole)
      expect(bytewise(data, limit), `seed ${seed}`).toEqual(whole)
      // Splitting went on to the end: as many line ends as \n bytes (plus a partial last line).
      const newlines = data.filter((b) => b === 0x0a).length
      const partial = data[data.length - 1] !== 0x0a ? 1 : 0
      expect(whole.length).toBeGreaterThanOrEqual(newlines + partial)
    }
  })
})
