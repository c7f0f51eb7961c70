/**
 * The console's first minute in headless Chromium: a `#token=` link pasted into a tab
 * already on the login page (a hashchange, not a load) logs in and leaves no token in
 * the address bar, and "Open terminal" puts the keyboard in the terminal.
 */
import { describe, expect, it } from 'vitest'
import { CONSOLE_TOKEN, cspErrors, useHarness, type Harness } from '../../helpers/console.js'

let h: Harness

useHarness((made) => (h = made))

describe('the console link and terminal focus', () => {
  it('takes a token from a hashchange on the open login page, and removes it from the address bar', async () => {
    const { page, errors } = await h.openPage('')
    await page.getByLabel('Bearer token').waitFor()
    expect(await page.locator('#login').isVisible()).toBe(true)

    // As pasting `…/#token=…` into the address bar of that tab: only the fragment changes.
    await page.evaluate((t) => {
      location.hash = `#token=${encodeURIComponent(t)}`
    }, CONSOLE_TOKEN)
    await page.locator('#proc-table').waitFor()
    expect(await page.locator('#login').isHidden()).toBe(true)
    expect(await page.evaluate(() => location.hash)).toBe('')
    expect(page.url()).not.toContain(CONSOLE_TOKEN)
    expect(await page.evaluate(() => sessionStorage.getItem('sandproc.token'))).toBe(CONSOLE_TOKEN)
    // The entry the link made was replaced: no entry of the tab's history holds the token.
    const entries = await page.evaluate(() => history.length)
    await page.goBack()
    expect(page.url()).not.toContain(CONSOLE_TOKEN)
    await page.goForward()
    expect(page.url()).not.toContain(CONSOLE_TOKEN)
    expect(await page.evaluate(() => history.length)).toBe(entries)

    // A wrong token in a later link replaces the good one: the page says it is refused.
    await page.evaluate(() => {
      location.hash = '#token=not-the-token'
    })
    await page.locator('#login-error', { hasText: /refused/ }).waitFor()
    expect(await page.evaluate(() => location.hash)).toBe('')
    expect(cspErrors(errors)).toEqual([])
  })

  it('leaves the token out of the address bar on load as well', async () => {
    const { page } = await h.openPage()
    await page.locator('#proc-table').waitFor()
    expect(await page.evaluate(() => location.href)).not.toContain('token')
  })

  it('focuses the terminal once the session is open: typed keys reach the shell without a click', async () => {
    const { page } = await h.openPage()
    await page.getByRole('button', { name: 'Terminal' }).click()
    await page.locator('#pty-form [name="command"]').fill('sh')
    await page.getByRole('button', { name: 'Open terminal' }).click()
    await page.locator('#term-status[data-state="connected"]').waitFor()
    await page.waitForFunction(() => document.activeElement?.classList.contains('xterm-helper-textarea') === true)
    await page.keyboard.type('echo focused-$((6*7))\n')
    await page
      .locator('#term .xterm-rows > div')
      .filter({ hasText: /^\s*focused-42\s*$/ })
      .waitFor()
    await page.keyboard.type('exit 5\n')
    await page.locator('#term-status[data-exit-code="5"]').waitFor()
  })
})
