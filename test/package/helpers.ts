// The tarball under test, unpacked or installed into fresh projects outside the repo.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { inject } from 'vitest'

export const tarball = (): string => inject('tarball')

/** The tarball's files, as `package/...` paths. */
export function listTarball(): string[] {
  return execFileSync('tar', ['-tzf', tarball()], { encoding: 'utf8' }).split('\n').filter(Boolean)
}

/** The tarball unpacked into a fresh directory; returns its `package/` folder. */
export function unpack(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sandproc-unpack-'))
  execFileSync('tar', ['-xzf', tarball(), '-C', dir])
  return path.join(dir, 'package')
}

/** A fresh project with only a package.json, the way a user starts one. */
export function freshProject(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sandproc-app-'))
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }, null, 2),
  )
  return dir
}

/** `npm ...` in a project; returns stdout and stderr together, throws on failure. */
export function npm(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } })
  const out = `${r.stdout}${r.stderr}`
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} exited ${r.status}:\n${out}`)
  return out
}

/** The README's `## Example` block, as shipped in the installed package. */
export function readmeExample(project: string): string {
  const readme = readFileSync(path.join(project, 'node_modules/sandproc/README.md'), 'utf8')
  const m = /^## Example\n+```js\n([\s\S]*?)^```/m.exec(readme)
  if (!m) throw new Error('README has no ## Example js block')
  return m[1]
}

/** The README's `curl -N` command against the server (Quick start), as one shell line. */
export function readmeCurl(project: string): string {
  const readme = readFileSync(path.join(project, 'node_modules/sandproc/README.md'), 'utf8')
  const m = /^curl -N -X POST [^\n]*\\\n(?:[^\n]*\\\n)*[^\n]*$/m.exec(readme)
  if (!m) throw new Error('README has no curl -N -X POST command')
  return m[0]
}
