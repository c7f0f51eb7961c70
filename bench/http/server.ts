/**
 * A server under test for workload 5, in its own process so that its RSS is its own and
 * it does not share an event loop with the client. Prints `{"port": N, "pid": P}` once
 * listening on loopback, then serves until its stdin closes.
 *
 * usage: http/server.ts sandproc|naive TOKEN
 */
import type { Server } from 'node:http'
import { Supervisor } from '../../src/index.js'
import { createServer } from '../../src/server/server.js'
import { createNaiveServer } from './naive.js'

const [kind, token] = process.argv.slice(2)
let server: Server
let supervisor: Supervisor | null = null
if (kind === 'sandproc' && token !== undefined) {
  supervisor = new Supervisor()
  server = createServer({ supervisor, token })
} else if (kind === 'naive') {
  server = createNaiveServer()
} else {
  throw new TypeError('usage: http/server.ts sandproc|naive TOKEN')
}

server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  process.stdout.write(JSON.stringify({ port, pid: process.pid }) + '\n')
})

// The bench closes our stdin to stop us; we also go if it dies.
process.stdin.resume()
process.stdin.once('end', () => {
  server.closeAllConnections()
  server.close()
  const closed = supervisor === null ? Promise.resolve() : supervisor.close()
  void closed.then(() => process.exit(0))
})
