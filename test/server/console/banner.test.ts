/**
 * The console's banner when OOM detection is off (docs/deploying.md): the server's
 * reason and the fix, above everything; none when it is on.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { harness, screenshot, type Harness } from '../../helpers/console.js'

let off: Harness
let on: Harness

beforeAll(async () => {
  // A --cgroup-parent that does not exist: cgroups, and so OOM detection, are off.
  ;[off, on] = await Promise.all([harness(['--cgroup-parent', '/sys/fs/cgroup/no-such-sandproc-parent']), harness()])
})

afterAll(async () => {
  await Promise.all([off?.close(), on?.close()])
})

it('says that OOM detection is off, why, and how to turn it on', async () => {
  const { page } = await off.openPage()
  const banner = page.locator('#oom-banner')
  await banner.waitFor()
  const text = (await banner.textContent()) ?? ''
  expect(text).toMatch(/^OOM detection is off/)
  expect(text).toContain('/sys/fs/cgroup/no-such-sandproc-parent does not exist')
  expect(text).toContain('To turn it on: pass an existing cgroup directory as --cgroup-parent')
  await screenshot(page, 'oom-banner')
})

it('shows no banner when OOM detection is on', async () => {
  const { page } = await on.openPage()
  await page.locator('#server-info', { hasText: 'up since' }).waitFor()
  expect(await page.locator('#oom-banner').isHidden()).toBe(true)
})
