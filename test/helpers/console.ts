/**
 * Shared by the console's browser tests: the real `sandproc serve` (the command `npm
 * start` runs, from the sources through tsx) on a free loopback port, and headless
 * Chromium from Debian's package driven by playwright-core.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const CHROMIUM = '/usr/bin/chromium'
export const CONSOLE_TOKEN = 'console-test-token-0123456789'

export interface ConsoleServer {
  url: string
  child: ChildProcess
  stderr(): string
  close(): Promise<void>
}

/** Starts `sandproc serve --port 0` with the token from the environment, as an operator would. */
export async function startServe(args: string[] = [], env: Record<string, string> = {}): Promise<ConsoleServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, SANDPROC_TOKEN: CONSOLE_TOKEN, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let text = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (chunk: string) => {
      text += chunk
      const match = /listening on (http:\/\/\S+)/.exec(text)
      if (match !== null) resolve(match[1])
    })
    void exited.then(() => reject(new Error(`sandproc serve exited: ${text}`)))
  })
  return {
    url,
    child,
    stderr: () => text,
    close: async () => {
      child.kill('SIGTERM')
      await exited
    },
  }
}

/**
 * Debian's Chromium, headless. playwright-core gives every launch a fresh temporary
 * profile (its own --user-data-dir) and deletes it on close.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/** Everything the page reported as an error (CSP violations included), for assertions. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text())
  })
  page.on('pageerror', (err) => errors.push(String(err)))
  return errors
}

const OUT_DIR = fileURLToPath(new URL('../../test-output/console/', import.meta.url))
const DOCS_DIR = fileURLToPath(new URL('../../docs/console/', import.meta.url))

/**
 * Saves a screenshot into test-output/console/ and, with SANDPROC_UPDATE_SCREENSHOTS=1,
 * into docs/console/ for the README.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const png = await page.screenshot({ fullPage: false })
  mkdirSync(OUT_DIR, { recursive: true })
  writeFileSync(`${OUT_DIR}${name}.png`, png)
  if (process.env.SANDPROC_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOCS_DIR, { recursive: true })
    writeFileSync(`${DOCS_DIR}${name}.png`, png)
  }
}
