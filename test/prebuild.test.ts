// The package must load from a prebuild (prebuildify --napi --strip) with no build/
// directory present: that is how it ships.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '..')
const dir = mkdtempSync(path.join(tmpdir(), 'sandproc-prebuild-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('loads from prebuilds/ without build/', () => {
  for (const f of ['package.json', 'binding.gyp', 'native', 'src']) cpSync(path.join(root, f), path.join(dir, f), { recursive: true })
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'))
  execFileSync(path.join(root, 'node_modules/.bin/prebuildify'), ['--napi', '--strip'], { cwd: dir, stdio: 'pipe' })
  rmSync(path.join(dir, 'build'), { recursive: true, force: true })
  expect(existsSync(path.join(dir, 'build'))).toBe(false)
  const arch = `${process.platform}-${process.arch}`
  expect(readdirSync(path.join(dir, 'prebuilds', arch)).some((f) => f.endsWith('.node'))).toBe(true)

  // A fresh node process imports the package's own native.ts and spawns through it.
  const script = `
    const { binding } = await import(${JSON.stringify(path.join(dir, 'src/native.ts'))})
    let pid = 0
    binding.spawn({ command: 'true', candidates: ['/bin/true'], argv: ['true'], envp: [], stdio: [0, 0, 0] },
      (err, spawned) => { if (err) throw err; pid = spawned.pid },
      (code) => { console.log(JSON.stringify({ pid, code })) })`
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' })
  const res = JSON.parse(out.trim()) as { pid: number; code: number }
  expect(res.code).toBe(0)
  expect(res.pid).toBeGreaterThan(0)
})
