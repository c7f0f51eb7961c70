/** A server to fuzz: a real supervisor behind createServer on a loopback port. */
import type { AddressInfo } from 'node:net'

import { Supervisor } from '../src/supervisor.js'
import { createServer } from '../src/server/server.js'
import type { FuzzTarget } from './http.js'

export interface FuzzServer extends FuzzTarget {
  close(): Promise<void>
}

export async function fuzzServer(): Promise<FuzzServer> {
  const sup = new Supervisor({ killGrace: 200 })
  const errors: unknown[] = []
  const token = 'fuzz-token-0123456789'
  const server = createServer({ supervisor: sup, token, onError: (err) => errors.push(err) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    errors,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await sup.close()
    },
  }
}
