/**
 * The console's terminal (docs/protocol.md "PTY sessions") in headless Chromium:
 * xterm.js on a PTY session over the session's WebSocket. Typed input echoes,
 * `stty size` follows a viewport resize, a socket cut by the network is reconnected,
 * another window takes the session over and gives it back, a reload reattaches to the
 * same shell, and `exit 3` shows the exit. Needs the PTY API (docs/pty.md).
 */
import { describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { cspErrors, dropConnections, screenshot, useHarness, type Harness } from '../../helpers/console.js'

let h: Harness

useHarness((made) => (h = made))

/** Waits until the terminal status leaves `states`, then returns the new state. */
async function stateAfter(page: Page, states: string[]): Promise<string> {
  await page.waitForFunction(
    (from) => !from.includes(document.getElementById('term-status')?.dataset.state ?? ''),
    states,
  )
  return (await page.locator('#term-status').getAttribute('data-state')) ?? ''
}

/** A row of the terminal's screen whose whole text matches. */
function screenLine(page: Page, text: RegExp) {
  return page.locator('#term .xterm-rows > div').filter({ hasText: text })
}

async function size(page: Page): Promise<{ cols: number; rows: number }> {
  const el = page.locator('#term-size')
  return { cols: Number(await el.getAttribute('data-cols')), rows: Number(await el.getAttribute('data-rows')) }
}

describe('the console terminal', () => {
  it('echoes typed input, follows a resize, survives a dropped socket, a takeover and a reload, and shows exit 3', async () => {
    const { page, errors } = await h.openPage()
    await page.getByRole('button', { name: 'Terminal' }).click()
    await page.locator('#pty-form [name="command"]').fill('sh')
    await page.getByRole('button', { name: 'Open terminal' }).click()
    const state = await stateAfter(page, ['idle', 'connecting'])
    expect(state, (await page.locator('#term-status').textContent()) ?? '').toBe('connected')

    await page.locator('#term .xterm').click()
    await page.keyboard.type('echo typed-$((6*7))\n')
    await screenLine(page, /^\s*typed-42\s*$/).waitFor()

    const before = await size(page)
    expect(before.cols).toBeGreaterThan(20)
    await page.keyboard.type('stty size\n')
    await screenLine(page, new RegExp(`^\\s*${before.rows} ${before.cols}\\s*$`)).waitFor()
    await screenshot(page, 'terminal')

    await page.setViewportSize({ width: 800, height: 560 })
    await page.waitForFunction(
      (cols) => Number(document.getElementById('term-size')?.dataset.cols) !== cols,
      before.cols,
    )
    const after = await size(page)
    expect(after.cols).toBeLessThan(before.cols)
    await page.keyboard.type('clear; stty size\n')
    await screenLine(page, new RegExp(`^\\s*${after.rows} ${after.cols}\\s*$`)).waitFor()

    // The network drops the socket: the page reconnects by itself to the same session.
    const connects = Number(await page.locator('#term-status').getAttribute('data-connects'))
    expect(connects).toBe(1)
    expect(dropConnections(h.server)).toBeGreaterThan(0)
    await page.locator('#term-status[data-connects="2"][data-state="connected"]').waitFor()
    await page.locator('#term .xterm').click()
    await page.keyboard.type('echo dropped-$((1+1))\n')
    await screenLine(page, /^\s*dropped-2\s*$/).waitFor()

    // Another window takes the session over (the old socket is closed with 1008
    // "replaced"); the first one takes it back with its Reconnect button.
    const sessions = (await (await h.api('/pty')).json()) as {
      sessions: Array<{ session_id: string; pid: number; is_alive: boolean }>
    }
    const live = sessions.sessions.filter((s) => s.is_alive)
    expect(live).toHaveLength(1)
    const shellPid = live[0].pid
    // window.open copies this tab's sessionStorage: token and session token go along.
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.evaluate(() => window.open('/', '_blank'))])
    popup.setDefaultTimeout(0)
    await popup.getByRole('button', { name: 'Terminal' }).click()
    expect(await stateAfter(popup, ['idle', 'connecting'])).toBe('connected')
    await page.locator('#term-status[data-state="replaced"]').waitFor()
    await popup.locator('#term .xterm').click()
    await popup.keyboard.type('echo popup-$$\n')
    await screenLine(popup, new RegExp(`^\\s*popup-${shellPid}\\s*$`)).waitFor()
    await popup.close()

    await page.getByRole('button', { name: 'Reconnect' }).click()
    expect(await stateAfter(page, ['replaced', 'connecting'])).toBe('connected')
    await page.locator('#term .xterm').click()
    await page.keyboard.type('echo again-$$\n')
    await screenLine(page, new RegExp(`^\\s*again-${shellPid}\\s*$`)).waitFor()

    // A reload drops the socket: the page attaches to the same shell again.
    await page.reload()
    await page.getByRole('button', { name: 'Terminal' }).click()
    expect(await stateAfter(page, ['idle', 'connecting'])).toBe('connected')
    await page.locator('#term .xterm').click()
    await page.keyboard.type('echo reloaded-$$\n')
    await screenLine(page, new RegExp(`^\\s*reloaded-${shellPid}\\s*$`)).waitFor()

    await page.keyboard.type('exit 3\n')
    await page.locator('#term-status[data-state="exited"]', { hasText: 'exited with code 3' }).waitFor()
    expect(await page.locator('#term-status').getAttribute('data-exit-code')).toBe('3')
    const ended = (await (await h.api(`/pty/${live[0].session_id}`)).json()) as Record<string, unknown>
    expect(ended).toMatchObject({ is_alive: false, exit_code: 3 })
    await screenshot(page, 'terminal-exit')
    expect(cspErrors(errors)).toEqual([])
  })
})
