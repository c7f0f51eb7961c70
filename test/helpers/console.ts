/**
 * Shared by the console's browser tests: the real `sandproc serve` (the command `npm
 * start` runs, from the sources through tsx) on a free loopback port, and headless
 * Chromium from Debian's package driven by playwright-core.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll } from 'vitest'

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
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--host', '127.0.0.1', '--port', '0', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, SANDPROC_TOKEN: CONSOLE_TOKEN, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
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
 * into docs/console/ for docs/console.md and the README.
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

/** One browser and one server for a test file, a fresh browser context per page. */
export interface Harness {
  server: ConsoleServer
  browser: Browser
  /** A page on the console, logged in through `#token=` unless `fragment` says otherwise. */
  openPage(fragment?: string, viewport?: { width: number; height: number }): Promise<{ page: Page; errors: string[] }>
  /** The API with the token (or `token: null` for none), from the test's side. */
  api(path: string, init?: { method?: string; body?: unknown; token?: string | null }): Promise<Response>
  closePages(): Promise<void>
  close(): Promise<void>
}

/**
 * The file's harness, as useSupervisor does for supervisors: made before its tests,
 * its pages closed after each test, closed after them all.
 */
export function useHarness(take: (h: Harness) => void, serveArgs: string[] = []): void {
  let made: Harness | undefined
  beforeAll(async () => {
    made = await harness(serveArgs)
    take(made)
  })
  afterEach(async () => {
    await made?.closePages()
  })
  afterAll(async () => {
    await made?.close()
  })
}

export async function harness(serveArgs: string[] = []): Promise<Harness> {
  const [server, browser] = await Promise.all([startServe(serveArgs), launchChromium()])
  const contexts: BrowserContext[] = []
  return {
    server,
    browser,
    openPage: async (fragment = `#token=${CONSOLE_TOKEN}`, viewport = { width: 1280, height: 800 }) => {
      const context = await browser.newContext({ viewport })
      contexts.push(context)
      const page = await context.newPage()
      // Wait on page state only: no wall-clock limit of playwright's own.
      page.setDefaultTimeout(0)
      const errors = collectErrors(page)
      await page.goto(`${server.url}/${fragment}`)
      return { page, errors }
    },
    api: (path, init = {}) => {
      const headers: Record<string, string> = {}
      const token = init.token === undefined ? CONSOLE_TOKEN : init.token
      if (token !== null) headers.authorization = `Bearer ${token}`
      if (init.body !== undefined) headers['content-type'] = 'application/json'
      return fetch(`${server.url}/api/v1${path}`, {
        method: init.method ?? 'GET',
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      })
    },
    closePages: async () => {
      await Promise.all(contexts.splice(0).map((c) => c.close()))
    },
    close: async () => {
      await browser.close()
      await server.close()
    },
  }
}

/**
 * Fills the start form and submits it; resolves with the pid the page reports, or
 * throws with the error the page showed.
 */
export async function startFromForm(page: Page, fields: Record<string, string>): Promise<number> {
  const panel = page.locator('#start-panel')
  if ((await panel.getAttribute('open')) === null) await panel.locator('summary').click()
  for (const [name, value] of Object.entries(fields)) {
    const field = page.locator(`#start-form [name="${name}"]`)
    if ((await field.evaluate((el) => el.tagName)) === 'SELECT') await field.selectOption(value)
    else await field.fill(value)
  }
  const result = page.locator('#start-result')
  await result.evaluate((el) => {
    el.textContent = ''
  })
  await page.getByRole('button', { name: 'Start', exact: true }).click()
  await result.filter({ hasText: /./ }).waitFor()
  const text = (await result.textContent()) ?? ''
  const match = /^Started pid ([0-9]+)$/.exec(text)
  if (match === null) throw new Error(`the form did not start the process: ${text}`)
  return Number(match[1])
}

/** The table row of a pid. */
export function row(page: Page, pid: number): Locator {
  return page.locator(`#proc-rows tr[data-pid="${pid}"]`)
}

/** The CSP violations among the page's errors. */
export function cspErrors(errors: string[]): string[] {
  return errors.filter((e) => /Content Security Policy/i.test(e))
}

/**
 * Cuts every TCP connection to the server's port from the kernel's side (`ss -K`, the
 * sock_destroy of inet_diag), as a network drop would: the browser sees its streams
 * and sockets fail. Returns how many sockets were cut; throws if `ss` cannot.
 */
export function dropConnections(server: ConsoleServer): number {
  const port = new URL(server.url).port
  const out = execFileSync('ss', ['-K', '-4', '-t', 'dst', '127.0.0.1', 'dport', '=', port], { encoding: 'utf8' })
  return out.split('\n').filter((line) => line.includes(`127.0.0.1:${port}`)).length
}
