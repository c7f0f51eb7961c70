import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { followEventStream, runEventStream, toReadableStream } from '../../../src/server/sse/streams.js'
import { commentFrame, dataFrame, eventFrame, KEEP_ALIVE_FRAME } from '../../../src/server/sse/frames.js'
import { Supervisor } from '../../../src/supervisor.js'

describe('SSE frames', () => {
  it('formats bare data frames exactly', () => {
    expect(dataFrame({ handle: 1, pid: 42, started_at: 1710000000000 })).toBe(
      'data: {"handle":1,"pid":42,"started_at":1710000000000}\n\n',
    )
    expect(dataFrame({ exit_code: 0 })).toBe('data: {"exit_code":0}\n\n')
    // Line breaks inside strings are escaped by JSON, so a frame never splits.
    expect(dataFrame({ line: 'a\nb\r' })).toBe('data: {"line":"a\\nb\\r"}\n\n')
  })

  it('formats named events with ids, and comments', () => {
    expect(eventFrame('output', { line: 'x', timestamp: 5 }, 3)).toBe(
      'event: output\nid: 3\ndata: {"line":"x","timestamp":5}\n\n',
    )
    expect(eventFrame('eof', {})).toBe('event: eof\ndata: {}\n\n')
    expect(commentFrame('keep-alive')).toBe(': keep-alive\n\n')
    expect(KEEP_ALIVE_FRAME).toBe(': keep-alive\n\n')
  })

  it('rejects fields that would break the framing', () => {
    expect(() => eventFrame('a\nb', {})).toThrow(TypeError)
    expect(() => eventFrame('a', {}, '1\r2')).toThrow(TypeError)
    expect(() => eventFrame('a', {}, 'x\0')).toThrow(TypeError)
    expect(() => commentFrame('x\ny')).toThrow(TypeError)
  })

  it('round-trips through a real SSE parser', () => {
    const seen: EventSourceMessage[] = []
    const comments: string[] = []
    const parser = createParser({ onEvent: (e) => seen.push(e), onComment: (c) => comments.push(c) })
    parser.feed(dataFrame({ line: 'ünï\ncode' }) + KEEP_ALIVE_FRAME + eventFrame('output', { line: '' }, 7))
    expect(seen).toEqual([
      { event: undefined, id: undefined, data: '{"line":"ünï\\ncode"}' },
      { event: 'output', id: '7', data: '{"line":""}' },
    ])
    expect(comments).toEqual(['keep-alive'])
  })
})

describe('event streams of real processes', () => {
  let sup: Supervisor
  beforeEach(() => {
    sup = new Supervisor({ retainBytes: 1024, retainHeadBytes: 0 })
  })
  afterEach(async () => {
    await sup.close()
  })

  async function collect(source: AsyncIterable<Uint8Array>): Promise<string[]> {
    const chunks: string[] = []
    for await (const chunk of source) chunks.push(Buffer.from(chunk).toString('utf8'))
    return chunks
  }

  it('batches the lines of one read into one chunk', async () => {
    // seq writes its whole output with one write(2): one pipe read, one chunk.
    const proc = sup.run({ command: 'seq', args: ['1', '1000'] })
    const chunks = await collect(runEventStream(proc))
    const frames = chunks.join('').split('\n\n').filter(Boolean)
    expect(frames).toHaveLength(1002)
    expect(frames[1]).toMatch(/^data: \{"line":"1","timestamp":[0-9]+,"stream":"stdout"\}$/)
    expect(frames[1001]).toMatch(/^data: \{"exit_code":0,/)
    expect(chunks.length).toBeLessThan(10)
    // Every chunk ends on a frame boundary.
    for (const chunk of chunks) expect(chunk.endsWith('\n\n')).toBe(true)
  })

  it('throws the spawn error before producing any byte', async () => {
    const proc = sup.run({ command: 'no-such-program-sandproc' })
    const stream = runEventStream(proc)
    await expect(stream.next()).rejects.toMatchObject({ code: 'ENOENT', syscall: 'execve' })
  })

  it('kills the process tree when the reader stops early, also through a ReadableStream', async () => {
    const proc = sup.run({ command: 'sh', args: ['-c', 'echo ready; sleep 60'] })
    const reader = toReadableStream(runEventStream(proc)).getReader()
    let text = ''
    while (!text.includes('"ready"')) text += Buffer.from((await reader.read()).value!).toString()
    await reader.cancel()
    expect((await proc.exited).signal).toBe(9)
  })

  it('sends keep-alive comments while a stream is quiet', async () => {
    const proc = sup.start({ command: 'sleep', args: ['60'] })
    await proc.started
    const stream = followEventStream(proc, 'stdout', { keepAliveMs: 20 })
    expect(Buffer.from((await stream.next()).value!).toString()).toBe(': keep-alive\n\n')
    await stream.return()
    proc.killTree()
    await proc.exited
  })

  it('follows with replay, resume after an id, and a comment for dropped lines', async () => {
    // 1 KiB retained per stream: most of 500 lines are dropped.
    const proc = sup.start({ command: 'seq', args: ['1', '500'] })
    await proc.exited
    const all = (await collect(followEventStream(proc, 'stdout'))).join('')
    const messages: EventSourceMessage[] = []
    const comments: string[] = []
    createParser({ onEvent: (e) => messages.push(e), onComment: (c) => comments.push(c) }).feed(all)
    const snapshot = proc.log!.snapshot('stdout')
    expect(snapshot.dropped).toBeGreaterThan(0)
    expect(comments).toEqual([`dropped ${snapshot.dropped}`])
    expect(messages[0]).toMatchObject({ event: 'output', id: String(snapshot.dropped) })
    expect(messages.at(-2)).toEqual({
      event: 'output',
      id: '499',
      data: expect.stringMatching(/^\{"line":"500","timestamp":[0-9]+\}$/),
    })
    expect(messages.at(-1)).toEqual({ event: 'eof', id: undefined, data: '{}' })

    const resumed = (await collect(followEventStream(proc, 'stdout', { after: 497 }))).join('')
    expect(resumed).toMatch(
      /^event: output\nid: 498\ndata: \{"line":"499",.*\n\nevent: output\nid: 499\n.*\n\nevent: eof\ndata: \{\}\n\n$/s,
    )
  })
})
