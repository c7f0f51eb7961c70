/**
 * The browser console against the real `sandproc serve`, in headless Chromium: the token
 * gate, a process started from the form with its output and exit, the OOM badge, the
 * signal and kill buttons, filter and sort, and the phone layout. One browser and one
 * server for the file; each test gets a fresh browser context (fresh sessionStorage).
 */
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  CONSOLE_TOKEN,
  cspErrors,
  dropConnections,
  row,
  screenshot,
  startFromForm,
  useHarness,
  type Harness,
} from '../../helpers/console.js'

let h: Harness
const cleanup: string[] = []

// 1 MiB of output kept per stream, so that a retention gap is quick to make.
useHarness((made) => (h = made), ['--retain', '1M'])

afterEach(() => {
  for (const file of cleanup.splice(0)) rmSync(file, { force: true })
})

const openPage = (...args: Parameters<Harness['openPage']>) => h.openPage(...args)
const api = (...args: Parameters<Harness['api']>) => h.api(...args)

async function startViaApi(body: Record<string, unknown>): Promise<number> {
  const res = await api('/processes', { method: 'POST', body })
  expect(res.status).toBe(201)
  return ((await res.json()) as { pid: number }).pid
}

describe('the console', () => {
  it('shows no data without the right token, and the table with it', async () => {
    const pid = await startViaApi({ command: 'sleep', args: ['300'] })
    expect((await api('/processes', { token: null })).status).toBe(401)

    const { page, errors } = await openPage('')
    await page.locator('#login').waitFor()
    expect(await page.locator('#processes-view').isHidden()).toBe(true)
    await screenshot(page, 'login')

    await page.getByLabel('Bearer token').fill('not-the-token')
    await page.getByRole('button', { name: 'Connect' }).click()
    await page.locator('#login-error', { hasText: 'refused' }).waitFor()
    expect(await page.locator('#processes-view').isHidden()).toBe(true)
    expect(await page.locator('#proc-rows tr').count()).toBe(0)
    expect(await page.content()).not.toContain(String(pid))
    expect(await page.evaluate(() => sessionStorage.getItem('sandproc.token'))).toBeNull()

    await page.getByLabel('Bearer token').fill(CONSOLE_TOKEN)
    await page.getByRole('button', { name: 'Connect' }).click()
    await row(page, pid).waitFor()

    // The fragment form: read, kept in sessionStorage, and taken out of the address bar.
    const second = await openPage()
    await row(second.page, pid).waitFor()
    expect(second.page.url()).toBe(`${h.server.url}/`)
    expect(await second.page.evaluate(() => sessionStorage.getItem('sandproc.token'))).toBe(CONSOLE_TOKEN)
    expect(cspErrors([...errors, ...second.errors])).toEqual([])
    await api(`/processes/${pid}`, { method: 'DELETE' })
  })

  it('starts a process from the form, streams its output, shows its exit code', async () => {
    const gate = join(tmpdir(), `sandproc-console-gate-${process.pid}`)
    rmSync(gate, { force: true })
    cleanup.push(gate)
    const { page, errors } = await openPage()
    const script = `echo started; echo to-stderr >&2; while [ ! -e ${gate} ]; do sleep 0.05; done; echo finished; exit 3`
    const pid = await startFromForm(page, { command: 'sh', args: `-c '${script}'` })

    await row(page, pid).and(page.locator('[data-status="running"]')).waitFor()
    const output = page.locator('#output')
    await output.locator('.line.stdout', { hasText: 'started' }).waitFor()
    await output.locator('.line.stderr', { hasText: 'to-stderr' }).waitFor()
    // Still running: the lines came live, not after the exit.
    expect(await output.locator('.line.stdout', { hasText: 'finished' }).count()).toBe(0)
    await screenshot(page, 'output')

    writeFileSync(gate, '')
    await output.locator('.line.stdout', { hasText: 'finished' }).waitFor()
    await page.locator('#output-state', { hasText: 'exited with code 3' }).waitFor()
    await row(page, pid)
      .and(page.locator('[data-status="exited"]'))
      .locator('td[data-col="status"]', { hasText: 'exit 3' })
      .waitFor()
    expect(await row(page, pid).locator('td[data-col="ended"]').textContent()).toMatch(/^[0-9]{2}:[0-9]{2}:[0-9]{2}$/)
    expect(await row(page, pid).locator('td[data-col="wall"]').textContent()).toMatch(/[0-9] (ms|s)$/)
    expect(cspErrors(errors)).toEqual([])
  })

  it('resumes a dropped output stream after the last line it saw, and shows a retention gap', async () => {
    const gate = join(tmpdir(), `sandproc-console-resume-${process.pid}`)
    rmSync(gate, { force: true })
    cleanup.push(gate)
    const { page } = await openPage()
    const script = `for i in 1 2 3; do echo before-$i; done; while [ ! -e ${gate} ]; do sleep 0.05; done; echo after-1`
    const pid = await startFromForm(page, { command: 'sh', args: `-c '${script}'` })
    const output = page.locator('#output')
    await output.locator('.line', { hasText: 'before-3' }).waitFor()
    await page.locator('#output-panel[data-connects="1"]').waitFor()

    // The network drops every connection: the page reconnects with Last-Event-ID.
    expect(dropConnections(h.server)).toBeGreaterThan(0)
    await page.locator('#output-panel[data-connects="2"][data-state="live"]').waitFor()
    writeFileSync(gate, '')
    await output.locator('.line', { hasText: 'after-1' }).waitFor()
    await page.locator('#output-state', { hasText: 'exited with code 0' }).waitFor()
    const lines = await output.locator('.line.stdout').allTextContents()
    expect(lines).toEqual(['before-1', 'before-2', 'before-3', 'after-1'])
    expect(pid).toBeGreaterThan(0)

    // Lines the retention bound dropped (this server keeps 1 MiB; 2 MiB are printed, in
    // lines of 60000 bytes) show as a gap.
    const flood = await startFromForm(page, {
      command: 'sh',
      args: `-c 'head -c 2097152 /dev/zero | tr "\\0" x | fold -w 60000; echo last'`,
    })
    // The previous panel also said "exited with code 0": wait for the flood's own panel
    // and its last line.
    await page.locator('#output-title', { hasText: `pid ${flood}:` }).waitFor()
    await page.locator('#output-state', { hasText: 'exited with code 0' }).waitFor()
    await output.locator('.line.stdout', { hasText: /x+last$/ }).waitFor()
    const snapshot = (await (await api(`/processes/${flood}/stdout`)).json()) as { dropped: number }
    expect(snapshot.dropped).toBeGreaterThan(0)
    await row(page, flood)
      .getByRole('button', { name: /^Output of/ })
      .click()
    await page.locator('#output-state', { hasText: 'exited with code 0' }).waitFor()
    await output.locator('.line.stdout', { hasText: /x+last$/ }).waitFor()
    const gap = output.locator('.line.gap')
    expect(await gap.count()).toBe(1)
    expect(await gap.textContent()).toMatch(new RegExp(`^… ${snapshot.dropped} lines dropped`))
    expect(await output.locator('.line.stdout').last().textContent()).toMatch(/x+last$/)

    // The page keeps only its last 2000 lines.
    await startFromForm(page, { command: 'seq', args: '1 3000' })
    // The flood's panel also said "exited with code 0": wait for the seq's own panel,
    // and for its last line, before counting.
    await page.locator('#output-title', { hasText: 'seq 1 3000' }).waitFor()
    await page.locator('#output-state', { hasText: 'exited with code 0' }).waitFor()
    await page.locator('#output-trimmed', { hasText: '1001 earlier lines' }).waitFor()
    await output.locator('.line.stdout', { hasText: /^3000$/ }).waitFor()
    expect(await output.locator('.line').count()).toBe(2000)
    expect(await output.getAttribute('data-trimmed')).toBe('1001')
    expect(await output.locator('.line.stdout').first().textContent()).toBe('1002')
  })

  it('shows the OOM badge of a process the OOM killer took', async () => {
    const { page } = await openPage()
    // Stops by itself at 1 GiB (exit 3) should the 64 MiB limit fail to apply.
    const hog = `-c 'a = [bytearray(1 << 20) for i in range(1024)]; raise SystemExit(3)'`
    const pid = await startFromForm(page, { command: 'python3', args: hog, memory_limit: '64M' })
    const oom = row(page, pid).and(page.locator('[data-status="oom_killed"]'))
    await oom.locator('.badge-oom', { hasText: 'OOM' }).waitFor()
    expect(await oom.locator('td[data-col="status"]').textContent()).toContain('SIGKILL')
    expect(await oom.locator('td[data-col="memory"]').textContent()).toMatch(/MiB$/)
    const info = (await (await api(`/processes/${pid}`)).json()) as Record<string, unknown>
    expect(info).toMatchObject({ status: 'oom_killed', signal: 9, oom_killed: true })
    await page.locator('#output-state', { hasText: 'OOM killer' }).waitFor()

    // Filter by status: only OOM-killed processes remain.
    await page.getByLabel('Show').selectOption('oom_killed')
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#proc-rows tr')].every(
        (tr) => (tr as HTMLElement).dataset.status === 'oom_killed',
      ),
    )
    expect(await row(page, pid).count()).toBe(1)
    await screenshot(page, 'oom')
  })

  it('sends a chosen signal and kills with the buttons', async () => {
    const { page } = await openPage()
    const trapper = await startViaApi({
      command: 'sh',
      args: ['-c', 'trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.05; done'],
    })
    const victim = await startViaApi({ command: 'sleep', args: ['300'] })
    const killed = await startViaApi({ command: 'sleep', args: ['300'] })
    await row(page, killed).waitFor()

    // SIGUSR1 to a process that traps it: delivered, and it keeps running.
    await row(page, trapper)
      .getByRole('button', { name: /^Output of/ })
      .click()
    await page.locator('#output .line', { hasText: 'ready' }).waitFor()
    await row(page, trapper).getByRole('combobox').selectOption('10')
    await row(page, trapper)
      .getByRole('button', { name: /^Send signal/ })
      .click()
    await page.locator('#output .line', { hasText: 'got-usr1' }).waitFor()
    expect(await row(page, trapper).getAttribute('data-status')).toBe('running')

    await row(page, victim).getByRole('combobox').selectOption('15')
    await row(page, victim)
      .getByRole('button', { name: /^Send signal/ })
      .click()
    await row(page, victim)
      .and(page.locator('[data-status="signaled"]'))
      .locator('td[data-col="status"]', { hasText: 'SIGTERM' })
      .waitFor()

    await row(page, killed).getByRole('button', { name: /^Kill/ }).click()
    await row(page, killed)
      .and(page.locator('[data-status="signaled"]'))
      .locator('td[data-col="status"]', { hasText: 'SIGKILL' })
      .waitFor()
    // The reason: killed through the API, for the Kill button and for the signal that ended the victim.
    await row(page, killed).locator('.badge-killed', { hasText: 'killed · api' }).waitFor()
    await row(page, victim).locator('.badge-killed', { hasText: 'killed · api' }).waitFor()
    expect(await row(page, killed).getByRole('button', { name: /^Kill/ }).isDisabled()).toBe(true)

    const infos = await Promise.all([victim, killed].map(async (pid) => (await api(`/processes/${pid}`)).json()))
    expect(infos).toMatchObject([
      { status: 'signaled', signal: 15 },
      { status: 'signaled', signal: 9 },
    ])

    // Sort by PID both ways.
    const pids = async (): Promise<number[]> =>
      await page.locator('#proc-rows tr').evaluateAll((trs) => trs.map((tr) => Number((tr as HTMLElement).dataset.pid)))
    await page.locator('th[data-sort="pid"] button').click()
    expect(await page.locator('th[data-sort="pid"]').getAttribute('aria-sort')).toBe('ascending')
    const ascending = await pids()
    expect(ascending).toEqual([...ascending].sort((a, b) => a - b))
    await screenshot(page, 'processes')
    await api(`/processes/${trapper}`, { method: 'DELETE' })
  })

  it('fits a phone: one card per process, no sideways scrolling', async () => {
    const pid = await startViaApi({ command: 'sleep', args: ['300'] })
    const { page } = await openPage(`#token=${CONSOLE_TOKEN}`, { width: 390, height: 844 })
    await row(page, pid).waitFor()
    expect(await row(page, pid).evaluate((tr) => getComputedStyle(tr).display)).toBe('block')
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
    await screenshot(page, 'phone')
    await api(`/processes/${pid}`, { method: 'DELETE' })
  })
})
