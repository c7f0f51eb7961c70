/**
 * Serves the browser console (docs/console.md) at `/`: static files that hold no
 * secret, so they need no bearer token. Every API call the page makes carries the
 * token itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { loadAssets } from './assets.js'
import { pathOf } from '../router.js'

/**
 * The page's policy. Scripts only from this origin and never inline. `connect-src
 * 'self'` also covers `ws:` to this same host and port (CSP Level 3, which Chromium
 * and Firefox follow). Styles allow inline because xterm.js's DOM renderer writes its
 * theme and cell sizes into `<style>` elements and offers no nonce; a style cannot run
 * code.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  // The files are the same for everyone and hold nothing that depends on the token;
  // revalidate on every load so that an upgraded server is picked up at once.
  'Cache-Control': 'no-cache',
}

/**
 * Returns the console's request handler: it answers `GET`/`HEAD` of the console's own
 * paths and returns true, and returns false for every other request (the API's).
 */
export function consoleHandler(): (req: IncomingMessage, res: ServerResponse) => boolean {
  const assets = loadAssets()
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    const asset = assets.get(pathOf(req.url))
    if (asset === undefined) return false
    res.writeHead(200, { ...HEADERS, 'Content-Type': asset.type, 'Content-Length': asset.body.length })
    res.end(req.method === 'HEAD' ? undefined : asset.body)
    return true
  }
}
