/**
 * Running out of fds is a capacity, as the process cap is (docs/deploying.md): a spawn
 * that finds the daemon's fd table full answers 429 TOO_MANY_OPEN_FILES, and the server
 * takes the next request once fds are free again.
 */
import fs from 'node:fs'
import http from 'node:http'
import { afterAll, beforeAll, expect, it } from 'vitest'

import { startServer, TOKEN, type TestServer } from '../helpers/server.js'

let ts: TestServer
// One connection, kept open: the requests made while the fd table is full need no new fd.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

beforeAll(async () => {
  ts = await startServer()
  await ts.sup.ready()
})

afterAll(async () => {
  agent.destroy()
  await ts.close()
})

function post(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${ts.url}/api/v1${path}`,
      { method: 'POST', agent, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

/** Opens /dev/null until the table is full, then frees `spare` fds; returns the rest to close. */
function fillFdTable(spare: number): number[] {
  const held: number[] = []
  for (;;) {
    try {
      held.push(fs.openSync('/dev/null', 'r'))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EMFILE') throw err
      break
    }
  }
  for (const fd of held.splice(held.length - spare)) fs.closeSync(fd)
  return held
}

it('a start that finds no free fd answers 429 TOO_MANY_OPEN_FILES with errno EMFILE; fds back, the next one starts', async () => {
  expect(await post('/processes', { command: 'true' })).toMatchObject({ status: 201 })
  // One spare: the stdout pipe cannot get both its ends.
  const held = fillFdTable(1)
  let refused
  try {
    refused = await post('/processes', { command: 'true' })
  } finally {
    for (const fd of held) fs.closeSync(fd)
  }
  expect(refused).toEqual({
    status: 429,
    body: { error: expect.any(String), code: 'TOO_MANY_OPEN_FILES', errno: 'EMFILE', syscall: 'pipe2' },
  })
  expect(await post('/processes', { command: 'true' })).toMatchObject({ status: 201 })
})
