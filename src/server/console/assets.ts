/**
 * The console's files: the page, its scripts and styles from this package's `console/`
 * folder, and xterm.js from the `@xterm/*` packages this package depends on (resolved
 * where Node would load them, never a CDN). Read once, when the server is made.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** One file the console serves. */
export interface Asset {
  body: Buffer
  type: string
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
}

// src/server/console/ and dist/server/console/ are both three levels below the package.
const CONSOLE_DIR = fileURLToPath(new URL('../../../console/', import.meta.url))

/** URL path → file, for every file the console serves. */
export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  for (const name of readdirSync(CONSOLE_DIR)) {
    const type = TYPES[extname(name)]
    if (type === undefined) continue
    const body = readFileSync(join(CONSOLE_DIR, name))
    assets.set(name === 'index.html' ? '/' : `/console/${name}`, { body, type })
  }
  const require = createRequire(import.meta.url)
  const xterm = dirname(require.resolve('@xterm/xterm/package.json'))
  const fit = dirname(require.resolve('@xterm/addon-fit/package.json'))
  const vendor: Record<string, string> = {
    'xterm.mjs': join(xterm, 'lib/xterm.mjs'),
    'xterm.css': join(xterm, 'css/xterm.css'),
    'addon-fit.mjs': join(fit, 'lib/addon-fit.mjs'),
  }
  for (const [name, file] of Object.entries(vendor)) {
    // The source maps' comments would make devtools ask for files we do not serve.
    const text = readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n')
    assets.set(`/console/vendor/${name}`, { body: Buffer.from(text), type: TYPES[extname(name)] })
  }
  return assets
}
