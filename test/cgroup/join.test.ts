/** Which kernels join a v1 cgroup without the global lock (src/cgroup/join.ts). */
import { describe, expect, it } from 'vitest'

import { kernelVersion, lockFreeJoin } from '../../src/cgroup/join.js'

describe('lockFreeJoin', () => {
  it('v1: from 5.5 on, and 5.4 from its .213 stable release; not 4.19 or older 5.4', () => {
    expect(
      ['6.18.44-fc-v973', '6.1.0-57-amd64', '5.5.0', '5.10.1', '5.4.213', '5.4.300-x'].map((r) =>
        lockFreeJoin('v1', r),
      ),
    ).toEqual([true, true, true, true, true, true])
    expect(
      ['5.4.212', '5.4.0-150-generic', '4.19.325', '4.18.0-553.el8', '3.10.0', 'garbage'].map((r) =>
        lockFreeJoin('v1', r),
      ),
    ).toEqual([false, false, false, false, false, false])
  })

  it('v2 (clone3; the addon checks it was not refused) and no cgroup are always lock-free', () => {
    expect([lockFreeJoin('v2', '4.19.0'), lockFreeJoin(null, '3.10.0')]).toEqual([true, true])
  })

  it('parses uname -r releases', () => {
    expect([kernelVersion('6.18.44-fc-v973'), kernelVersion('5.4'), kernelVersion('x')]).toEqual([
      [6, 18, 44],
      [5, 4, 0],
      [0, 0, 0],
    ])
  })
})
