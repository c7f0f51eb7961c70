// Packs the package once for the whole package suite, the way `npm publish` would.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    tarball: string
  }
}

const root = path.resolve(import.meta.dirname, '../..')

export default function setup(project: TestProject): () => void {
  const given = process.env.SANDPROC_TARBALL
  if (given) {
    project.provide('tarball', path.resolve(given))
    return () => {}
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'sandproc-pack-'))
  // prepack's build output goes to the terminal; the tarball is the one file made.
  execFileSync('npm', ['pack', '--pack-destination', dir], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
  const [filename] = readdirSync(dir).filter((f) => f.endsWith('.tgz'))
  if (!filename) throw new Error(`npm pack left no tarball in ${dir}`)
  project.provide('tarball', path.join(dir, filename))
  return () => rmSync(dir, { recursive: true, force: true })
}
