// Each shipped prebuild must load wherever Node 20 runs. Node 20's own Linux binaries
// need glibc 2.28; the oldest distros it supports (RHEL 8, Debian 11, Ubuntu 20.04) have
// glibc 2.28..2.31 and, at the oldest, GCC 8's libstdc++ (GLIBCXX_3.4.25, CXXABI_1.3.11)
// and libgcc_s (GCC_7.0.0). The dynamic loader refuses an addon that needs a newer
// symbol version than the system's library defines, so the version needs read from each
// ELF file are the whole answer.
import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { unpack } from './helpers.js'

const newest: Record<string, string> = { GLIBC: '2.28', GLIBCXX: '3.4.25', CXXABI: '1.3.11', GCC: '7.0.0' }
const allowedLibs = new Set([
  'libc.so.6',
  'libm.so.6',
  'libstdc++.so.6',
  'libgcc_s.so.1',
  'ld-linux-x86-64.so.2',
  'ld-linux-aarch64.so.1',
])
const machine: Record<string, string> = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' }

/** "2.28" < "2.3" is false: compare numerically, part by part. */
function newer(a: string, b: string): boolean {
  const x = a.split('.').map(Number)
  const y = b.split('.').map(Number)
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0)
  }
  return false
}

/** The symbol versions a file needs (readelf's .gnu.version_r), e.g. ["GLIBC_2.28", ...]. */
function versionNeeds(file: string): string[] {
  const out = execFileSync('readelf', ['-V', '-W', file], { encoding: 'utf8' })
  return [...out.matchAll(/Name: (\S+)\s+Flags/g)].map((m) => m[1])
}

it('compares versions numerically', () => {
  expect(newer('2.32', '2.28')).toBe(true)
  expect(newer('2.3', '2.28')).toBe(false)
  expect(newer('3.4.30', '3.4.25')).toBe(true)
  expect(newer('1.3.9', '1.3.11')).toBe(false)
  expect(newer('2.28', '2.28')).toBe(false)
})

describe.each(['x64', 'arm64'])('prebuilds/linux-%s', (arch) => {
  let file = ''
  beforeAll(() => {
    const dir = path.join(unpack(), 'prebuilds', `linux-${arch}`)
    file = path.join(
      dir,
      readdirSync(dir).find((f) => f.endsWith('.node'))!,
    )
  })

  it('is built for its architecture', () => {
    const header = execFileSync('readelf', ['-h', file], { encoding: 'utf8' })
    expect(header).toMatch(new RegExp(`Machine:\\s+${machine[arch]}`))
  })

  it('needs no symbol version newer than the oldest supported distro has', () => {
    const needs = versionNeeds(file)
    // Parsing must have worked: every addon needs some GLIBC version.
    expect(needs.some((v) => v.startsWith('GLIBC_'))).toBe(true)
    // Anything not of the form LIB_x.y (GLIBC_PRIVATE, another library) fails too.
    const tooNew = needs.filter((v) => {
      const m = /^(\w+?)_(\d+(?:\.\d+)*)$/.exec(v)
      return !m || !(m[1] in newest) || newer(m[2], newest[m[1]])
    })
    expect(tooNew).toEqual([])
    const top = (lib: string) =>
      needs
        .filter((v) => v.startsWith(`${lib}_`))
        .map((v) => v.slice(lib.length + 1))
        .sort((a, b) => (newer(a, b) ? 1 : -1))
        .pop()
    console.log(
      `linux-${arch}: newest GLIBC_${top('GLIBC')}, GLIBCXX_${top('GLIBCXX')}, CXXABI_${top('CXXABI')}, GCC_${top('GCC')}`,
    )
  })

  it('links only the C and C++ runtimes every distro has', () => {
    const dyn = execFileSync('readelf', ['-d', '-W', file], { encoding: 'utf8' })
    const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1])
    expect(needed).toContain('libc.so.6')
    expect(needed.filter((l) => !allowedLibs.has(l))).toEqual([])
  })
})
