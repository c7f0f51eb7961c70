/**
 * The console's files as the server sends them: no token needed, the security headers,
 * xterm.js from the package's own dependencies, and `console: false`.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { afterEach, describe, expect, it } from 'vitest'
import { CONSOLE_CSP } from '../../../src/server/console/static.js'
import { startServe } from '../../helpers/console.js'
import { startServer, type TestServer } from '../../helpers/server.js'

let t: TestServer | null = null
afterEach(async () => {
  await t?.close()
  t = null
})

const require = createRequire(import.meta.url)

describe('the console files', () => {
  it('are served without the bearer token, with CSP, nosniff and no token-dependent caching', async () => {
    t = await startServer()
    for (const [path, type] of [
      ['/', 'text/html; charset=utf-8'],
      ['/console/app.js', 'text/javascript; charset=utf-8'],
      ['/console/style.css', 'text/css; charset=utf-8'],
      ['/console/vendor/xterm.mjs', 'text/javascript; charset=utf-8'],
      ['/console/vendor/xterm.css', 'text/css; charset=utf-8'],
      ['/console/vendor/addon-fit.mjs', 'text/javascript; charset=utf-8'],
    ]) {
      const res = await fetch(`${t.url}${path}`)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-type'), path).toBe(type)
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('cache-control')).toBe('no-cache')
      expect(res.headers.get('set-cookie')).toBeNull()
    }
    expect(CONSOLE_CSP).toContain("script-src 'self';")
    expect(CONSOLE_CSP).toContain("connect-src 'self';")
    expect(CONSOLE_CSP).not.toMatch(/script-src[^;]*unsafe/)
    const head = await fetch(`${t.url}/`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  })

  it('has no inline script in the page', async () => {
    t = await startServer()
    const html = await (await fetch(`${t.url}/`)).text()
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
    expect(scripts.length).toBeGreaterThan(0)
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/console\//)
      expect(body.trim()).toBe('')
    }
    expect(html).not.toMatch(/\son[a-z]+=/i)
  })

  it('serves xterm.js from the installed @xterm packages', async () => {
    t = await startServer()
    const served = await (await fetch(`${t.url}/console/vendor/xterm.mjs`)).text()
    const installed = readFileSync(require.resolve('@xterm/xterm/lib/xterm.mjs'), 'utf8')
    expect(served).toBe(installed.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'))
    expect(served).toContain('export{')
  })

  it('leaves the API behind the token, with no-store', async () => {
    t = await startServer()
    const refused = await fetch(`${t.url}/api/v1/processes`)
    expect(refused.status).toBe(401)
    const listed = await t.api('/processes')
    expect(listed.status).toBe(200)
    expect(listed.headers.get('cache-control')).toBe('no-store')
    // Only the console's own paths are open: anything else still needs the token.
    expect((await fetch(`${t.url}/console/nothing.js`)).status).toBe(401)
    expect((await fetch(`${t.url}/`, { method: 'POST' })).status).toBe(401)
  })

  it('is off with console: false', async () => {
    t = await startServer({ console: false })
    const res = await fetch(`${t.url}/`)
    expect(res.status).toBe(401)
    expect((await fetch(`${t.url}/console/app.js`)).status).toBe(401)
    expect((await t.api('/health')).status).toBe(200)
  })

  it('is off with sandproc serve --no-console, on by default', async () => {
    const [off, on] = await Promise.all([startServe(['--no-console']), startServe()])
    try {
      expect((await fetch(`${off.url}/`)).status).toBe(401)
      expect((await fetch(`${on.url}/`)).status).toBe(200)
      expect(on.stderr()).toContain(`console at ${on.url}/`)
      expect(off.stderr()).not.toContain('console at')
    } finally {
      await Promise.all([off.close(), on.close()])
    }
  })
})
