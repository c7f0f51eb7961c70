// What `npm pack` (and so `npm publish`) ships: only what runs, both prebuilds, and
// metadata whose paths resolve inside the tarball.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { beforeAll, expect, it } from 'vitest'
import { listTarball, unpack } from './helpers.js'

interface Manifest {
  main: string
  types: string
  exports: { '.': { types: string; default: string } }
  bin: { sandproc: string }
  scripts: Record<string, string>
  dependencies: Record<string, string>
  engines: { node: string }
  os: string[]
  cpu: string[]
  repository: { url: string }
}

let files: string[]
let pkgDir: string
let pkg: Manifest
beforeAll(() => {
  files = listTarball().map((f) => f.replace(/^package\//, ''))
  pkgDir = unpack()
  pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as Manifest
})

it('carries a prebuild for linux-x64 and linux-arm64', () => {
  expect(files).toContain('prebuilds/linux-x64/sandproc.node')
  expect(files).toContain('prebuilds/linux-arm64/sandproc.node')
  expect(files.filter((f) => f.startsWith('prebuilds/')).sort()).toEqual([
    'prebuilds/linux-arm64/sandproc.node',
    'prebuilds/linux-x64/sandproc.node',
  ])
})

it('carries what a source build needs', () => {
  expect(files).toContain('binding.gyp')
  for (const src of JSON.parse(readFileSync(path.join(pkgDir, 'binding.gyp'), 'utf8')).targets[0].sources as string[]) {
    expect(files).toContain(src)
  }
  expect(pkg.dependencies).toHaveProperty('node-addon-api')
  expect(pkg.dependencies).toHaveProperty('node-gyp-build')
  expect(pkg.scripts.install).toBe('node-gyp-build')
})

it('holds only what runs: no tests, bench, soak, sources, maps or build files', () => {
  const allowed =
    /^(package\.json|README\.md|LICENSE|binding\.gyp|dist\/.+\.(js|d\.ts)|native\/[\w]+\.(cc|h)|console\/[\w-]+\.(html|css|js|svg)|prebuilds\/linux-(x64|arm64)\/sandproc\.node)$/
  expect(files.filter((f) => !allowed.test(f))).toEqual([])
  expect(files.some((f) => f.startsWith('dist/'))).toBe(true)
  // The console's page ships with the server that serves it.
  expect(files).toContain('console/index.html')
})

it('has the metadata a registry page shows, and its paths resolve', () => {
  for (const field of ['name', 'version', 'description', 'license', 'repository', 'keywords', 'engines', 'os', 'cpu']) {
    expect(pkg, field).toHaveProperty(field)
  }
  expect(pkg.engines.node).toBe('>=20')
  expect(pkg.os).toEqual(['linux'])
  expect(pkg.cpu).toEqual(expect.arrayContaining(['x64', 'arm64']))
  expect(pkg.repository.url).toMatch(/^git\+https:\/\//)
  const paths = [pkg.main, pkg.types, pkg.exports['.'].types, pkg.exports['.'].default, pkg.bin.sandproc]
  for (const p of paths) expect(files, p).toContain(path.posix.normalize(p))
  const bin = readFileSync(path.join(pkgDir, pkg.bin.sandproc), 'utf8')
  expect(bin.startsWith('#!/usr/bin/env node\n')).toBe(true)
})
