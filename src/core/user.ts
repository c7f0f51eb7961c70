/**
 * Turns a validated `user` field (docs/protocol.md "Requests") into the exact
 * credentials of the child. Supplementary groups are always explicit: the child never
 * keeps the supervisor's.
 */
import { coded } from '../errors.js'
import type { NativeBinding } from '../native.js'
import type { UserSpec } from '../types.js'

export interface Credentials {
  uid: number
  gid: number
  groups: number[]
}

function byName(name: string, native: NativeBinding): Credentials {
  const acct = native.lookupUser(name)
  if (acct === null) throw coded(`User ${JSON.stringify(name)} not found`, 'USER_NOT_FOUND', { path: name })
  return { uid: acct.uid, gid: acct.gid, groups: acct.groups }
}

// A bare uid takes the account's gid and groups when there is such an account,
// else gid = uid and no supplementary group.
function byUid(uid: number, native: NativeBinding): Credentials {
  const acct = native.lookupUser(uid)
  return acct === null ? { uid, gid: uid, groups: [] } : { uid, gid: acct.gid, groups: acct.groups }
}

/** Resolves in the parent, before the clone (NSS must never run in the vfork child). */
export function resolveUser(spec: UserSpec, native: NativeBinding): Credentials {
  if (typeof spec === 'string') {
    const m = /^(\d+)(?::(\d+))?$/.exec(spec)
    if (m === null) return byName(spec, native)
    const uid = Number(m[1])
    return m[2] === undefined ? byUid(uid, native) : { uid, gid: Number(m[2]), groups: [] }
  }
  if ('name' in spec) return byName(spec.name, native)
  return spec.gid === undefined ? byUid(spec.uid, native) : { uid: spec.uid, gid: spec.gid, groups: [] }
}
