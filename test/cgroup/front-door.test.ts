/**
 * The cgroup layer has one front door (src/cgroup/index.ts): code above it imports
 * nothing else from src/cgroup/, so the files behind it can be renamed or split freely.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return tsFiles(p)
    return e.name.endsWith('.ts') ? [p] : []
  })
}

/** Every module specifier a file imports or re-exports, resolved against the file. */
function importedFiles(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8')
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => m[1])
  return specs.map((s) => path.resolve(path.dirname(file), s))
}

describe('src/cgroup/ front door', () => {
  it('files outside src/cgroup/ import only src/cgroup/index.js from it', () => {
    const cgroupDir = path.join(SRC, 'cgroup')
    const door = path.join(cgroupDir, 'index.js')
    const outside = tsFiles(SRC).filter((f) => !f.startsWith(cgroupDir + path.sep))
    const deep = outside.flatMap((f) =>
      importedFiles(f)
        .filter((target) => target.startsWith(cgroupDir + path.sep) && target !== door)
        .map((target) => `${path.relative(SRC, f)} → ${path.relative(SRC, target)}`),
    )
    expect(outside.length).toBeGreaterThan(10)
    expect(deep).toEqual([])
  })
})
