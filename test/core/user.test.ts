import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { binding, type NativeAccount, type NativeBinding } from '../../src/native.js'
import { Supervisor } from '../../src/supervisor.js'
import type { UserSpec } from '../../src/types.js'
import { resolveUser } from '../../src/core/user.js'
import { collect, ending, spawnError } from '../helpers/events.js'
import { account, accounts, unusedId, type Account } from '../helpers/system.js'

/** Credentials as the child sees them: `id -u`, `id -g`, `id -G`, and /proc/self/status. */
interface Seen {
  uid: number
  gid: number
  groups: number[]
  /** real, effective, saved, fs: all must be the same */
  statusUid: number[]
  statusGid: number[]
  statusGroups: number[]
}

let sup: Supervisor

beforeAll(() => {
  // The supervisor holds supplementary groups of its own that no child may keep.
  process.setgroups?.([4, 24, 27, 100])
  sup = new Supervisor()
})

afterAll(() => sup.close())

const numbers = (s: string): number[] =>
  s
    .trim()
    .split(/\s+/)
    .filter((x) => x !== '')
    .map(Number)
    .sort((a, b) => a - b)

async function credentialsOf(user: UserSpec): Promise<Seen> {
  const cmd = 'id -u; id -g; id -G; grep -E "^(Uid|Gid|Groups):" /proc/self/status'
  const { stdout, stderr, exit } = await collect(sup.run({ command: 'sh', args: ['-c', cmd], user }))
  expect(stderr).toEqual([])
  expect(ending(exit)).toEqual({ exit_code: 0 })
  const field = (key: string): number[] =>
    numbers((stdout.find((l) => l.startsWith(`${key}:`)) ?? '').slice(key.length + 1))
  return {
    uid: Number(stdout[0]),
    gid: Number(stdout[1]),
    groups: numbers(stdout[2]),
    statusUid: field('Uid'),
    statusGid: field('Gid'),
    statusGroups: field('Groups'),
  }
}

/** What the child must show for these credentials; `groups` are the supplementary ones. */
function expected(uid: number, gid: number, groups: number[]): Seen {
  const supplementary = [...new Set(groups)].sort((a, b) => a - b)
  return {
    uid,
    gid,
    // `id -G` prints the effective gid and then the supplementary groups.
    groups: [...new Set([gid, ...groups])].sort((a, b) => a - b),
    statusUid: [uid, uid, uid, uid],
    statusGid: [gid, gid, gid, gid],
    statusGroups: supplementary,
  }
}

function mustHave(nameOrUid: string | number): Account {
  const a = account(nameOrUid)
  if (a === null) throw new Error(`this machine has no account ${nameOrUid}`)
  return a
}

describe('user forms, checked with id in the child', () => {
  it('"nobody": its uid, primary gid and exactly the groups initgroups gives', async () => {
    const nobody = mustHave('nobody')
    expect(await credentialsOf('nobody')).toEqual(expected(nobody.uid, nobody.gid, nobody.groups))
  })

  it('{name: "nobody"} is the same as "nobody"', async () => {
    const nobody = mustHave('nobody')
    expect(await credentialsOf({ name: 'nobody' })).toEqual(expected(nobody.uid, nobody.gid, nobody.groups))
  })

  it('"65534" (a uid with an account): that account\'s gid and groups', async () => {
    const acct = mustHave(65534)
    expect(await credentialsOf('65534')).toEqual(expected(65534, acct.gid, acct.groups))
  })

  it('{uid: 65534} is the same as "65534"', async () => {
    const acct = mustHave(65534)
    expect(await credentialsOf({ uid: 65534 })).toEqual(expected(65534, acct.gid, acct.groups))
  })

  it('"1000:1000": exactly that uid and gid, and no other group', async () => {
    expect(await credentialsOf('1000:1000')).toEqual(expected(1000, 1000, []))
  })

  it('{uid: 1000, gid: 1000} is the same as "1000:1000"', async () => {
    expect(await credentialsOf({ uid: 1000, gid: 1000 })).toEqual(expected(1000, 1000, []))
  })

  it('"uid:gid" takes no group of the account that has the uid', async () => {
    const nobody = mustHave('nobody')
    const gid = unusedId(5000)
    expect(await credentialsOf(`${nobody.uid}:${gid}`)).toEqual(expected(nobody.uid, gid, []))
    expect(await credentialsOf({ uid: nobody.uid, gid })).toEqual(expected(nobody.uid, gid, []))
  })

  it('a uid with no account: gid = uid and no supplementary group', async () => {
    const id = unusedId()
    expect(await credentialsOf(String(id))).toEqual(expected(id, id, []))
    expect(await credentialsOf({ uid: id })).toEqual(expected(id, id, []))
  })

  it('"0" (root, our own user) still gets its groups set explicitly', async () => {
    const root = mustHave(0)
    expect(await credentialsOf('0')).toEqual(expected(0, root.gid, root.groups))
  })

  it('every account of this machine with supplementary groups gets exactly those', async () => {
    // Whatever accounts NSS has (postgres in ssl-cert, say); nobody always takes part.
    const withGroups = accounts().filter((a) => a.groups.some((g) => g !== a.gid))
    for (const a of [...withGroups, mustHave('nobody')]) {
      expect(await credentialsOf(a.name)).toEqual(expected(a.uid, a.gid, a.groups))
      const byUid = mustHave(a.uid) // the first account with that uid, as getpwuid finds it
      expect(await credentialsOf(String(a.uid))).toEqual(expected(a.uid, byUid.gid, byUid.groups))
    }
  })

  it('an unknown user name is USER_NOT_FOUND, and nothing runs', async () => {
    for (const user of ['sandproc-no-such-user', { name: 'sandproc-no-such-user' }]) {
      const proc = sup.run({ command: 'sh', args: ['-c', 'echo ran'], user })
      const events: string[] = []
      proc.on('start', () => events.push('start'))
      proc.on('exit', () => events.push('exit'))
      const err = await spawnError(proc)
      expect(err).toBeInstanceOf(Error)
      expect(err.code).toBe('USER_NOT_FOUND')
      expect(events).toEqual([])
    }
  })

  it("the child never keeps the supervisor's own credentials when a user is given", async () => {
    expect(process.getgroups?.()).toEqual(expect.arrayContaining([4, 24, 27, 100]))
    const id = unusedId()
    const seen = await credentialsOf(`${id}:${id}`)
    expect(seen.statusUid).not.toContain(process.getuid?.())
    expect(seen.statusGroups).toEqual([])
  })
})

describe('resolveUser (with a stand-in account database)', () => {
  const alice: NativeAccount = { name: 'alice', uid: 1001, gid: 2001, groups: [2001, 3000, 3001] }
  const calls: Array<string | number> = []
  const fake: NativeBinding = {
    ...binding,
    spawn: () => {
      throw new Error('not used')
    },
    lookupUser: (key: string | number): NativeAccount | null => {
      calls.push(key)
      return key === 'alice' || key === 1001 ? alice : null
    },
  }

  it('resolves each form', () => {
    expect(resolveUser('alice', fake)).toEqual({ uid: 1001, gid: 2001, groups: [2001, 3000, 3001] })
    expect(resolveUser({ name: 'alice' }, fake)).toEqual({ uid: 1001, gid: 2001, groups: [2001, 3000, 3001] })
    expect(resolveUser('1001', fake)).toEqual({ uid: 1001, gid: 2001, groups: [2001, 3000, 3001] })
    expect(resolveUser({ uid: 1001 }, fake)).toEqual({ uid: 1001, gid: 2001, groups: [2001, 3000, 3001] })
    expect(resolveUser('1001:5', fake)).toEqual({ uid: 1001, gid: 5, groups: [] })
    expect(resolveUser({ uid: 1001, gid: 5 }, fake)).toEqual({ uid: 1001, gid: 5, groups: [] })
    expect(resolveUser('777', fake)).toEqual({ uid: 777, gid: 777, groups: [] })
    expect(resolveUser({ uid: 777 }, fake)).toEqual({ uid: 777, gid: 777, groups: [] })
  })

  it('looks a uid up as a number and "uid:gid" not at all', () => {
    calls.length = 0
    resolveUser('1001', fake)
    resolveUser('1001:5', fake)
    resolveUser({ uid: 1001, gid: 5 }, fake)
    expect(calls).toEqual([1001])
  })

  it('throws USER_NOT_FOUND for an unknown name', () => {
    for (const spec of ['bob', { name: 'bob' }]) {
      let err: unknown
      try {
        resolveUser(spec, fake)
      } catch (e) {
        err = e
      }
      expect(err).toMatchObject({ code: 'USER_NOT_FOUND' })
    }
  })
})

describe('lookupUser (the addon)', () => {
  it('agrees with getent by name and by uid', () => {
    for (const a of accounts()) {
      const byName = binding.lookupUser(a.name)
      expect(byName).not.toBeNull()
      expect({ ...byName, groups: [...(byName?.groups ?? [])].sort((x, y) => x - y) }).toEqual({
        name: a.name,
        uid: a.uid,
        gid: a.gid,
        groups: a.groups,
      })
    }
    const nobody = mustHave('nobody')
    expect(binding.lookupUser(nobody.uid)?.name).toBe('nobody')
  })

  it('returns null for an unknown name or uid', () => {
    expect(binding.lookupUser('sandproc-no-such-user')).toBeNull()
    expect(binding.lookupUser(unusedId())).toBeNull()
  })
})
