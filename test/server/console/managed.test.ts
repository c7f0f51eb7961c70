/**
 * The console with managed processes (docs/protocol.md "Managed processes"): a
 * crash-looping process started from the form shows its restarts climbing, its managed
 * status and health, and the restart and kill buttons act on the managed process.
 * Needs the managed-process API (docs/managed.md).
 */
import { describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { cspErrors, screenshot, startFromForm, useHarness, type Harness } from '../../helpers/console.js'

let h: Harness

useHarness((made) => (h = made))

const managedRow = (page: Page, name: string) => page.locator(`#proc-rows tr[data-name="${name}"]`)

/** The restart count the page shows, once it is at least `min`. */
async function restartsAtLeast(page: Page, name: string, min: number): Promise<number> {
  const cell = managedRow(page, name).locator('td[data-col="restarts"]')
  await page.waitForFunction(
    ([selector, least]) => Number(document.querySelector(selector)?.textContent ?? -1) >= least,
    [`#proc-rows tr[data-name="${name}"] td[data-col="restarts"]`, min] as const,
  )
  return Number(await cell.textContent())
}

describe('the console with managed processes', () => {
  it('shows a crash-looping process with its restarts climbing, then kill stops it', async () => {
    const { page, errors } = await h.openPage()
    const pid = await startFromForm(page, {
      command: 'sh',
      args: `-c 'echo run; exit 1'`,
      name: 'crashy',
      restart: 'on_failure',
      initial_backoff_ms: '100',
    })
    const info = (await (await h.api(`/processes/${pid}`)).json()) as Record<string, unknown>
    expect(info.managed, 'POST /processes with name and restart must make a managed process').toMatchObject({
      name: 'crashy',
      restart: { policy: 'on_failure', initial_backoff_ms: 100 },
    })

    const first = await restartsAtLeast(page, 'crashy', 1)
    const later = await restartsAtLeast(page, 'crashy', first + 2)
    expect(later).toBeGreaterThan(first)
    const row = managedRow(page, 'crashy')
    expect(await row.locator('td[data-col="managed"]').textContent()).toMatch(/^(running|backing_off|starting)$/)
    expect(await row.locator('td[data-col="health"]').textContent()).toBe('disabled')
    expect(await row.locator('th[data-col="command"]').textContent()).toContain('crashy: sh -c')
    // One log across the runs: the output panel shows a line of each.
    expect(await page.locator('#output .line.stdout', { hasText: 'run' }).count()).toBeGreaterThanOrEqual(1)
    await screenshot(page, 'managed')

    await row.getByRole('button', { name: /^Kill crashy/ }).click()
    await row.locator('td[data-col="managed"]', { hasText: 'stopped' }).waitFor()
    const stopped = (await (await h.api('/processes/crashy')).json()) as {
      managed: { status: string; restart_count: number }
    }
    expect(stopped.managed.status).toBe('stopped')
    expect(await row.getByRole('button', { name: /^Kill crashy/ }).isDisabled()).toBe(true)
    expect(cspErrors(errors)).toEqual([])
  })

  it('restarts a managed process with the button: a new run, the count up by one', async () => {
    const { page } = await h.openPage()
    const pid = await startFromForm(page, { command: 'sleep', args: '300', name: 'sleeper', restart: 'always' })
    const started = (await (await h.api(`/processes/${pid}`)).json()) as Record<string, unknown>
    expect(started.managed, 'POST /processes with name and restart must make a managed process').toMatchObject({
      name: 'sleeper',
    })
    const row = managedRow(page, 'sleeper')
    await row.locator('td[data-col="restarts"]', { hasText: '0' }).waitFor()
    await row.getByRole('button', { name: /^Restart sleeper/ }).click()
    await row.locator('td[data-col="restarts"]', { hasText: '1' }).waitFor()
    const newPid = Number(await row.getAttribute('data-pid'))
    expect(newPid).not.toBe(pid)
    const info = (await (await h.api('/processes/sleeper')).json()) as {
      pid: number
      managed: { restart_count: number }
    }
    expect(info).toMatchObject({ pid: newPid, status: 'running', managed: { restart_count: 1 } })
    await row.getByRole('button', { name: /^Kill sleeper/ }).click()
    await row.locator('td[data-col="managed"]', { hasText: 'stopped' }).waitFor()
  })
})
