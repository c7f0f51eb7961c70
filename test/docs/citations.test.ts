/**
 * Code comments cite the project's own docs: every `docs/page.md` they name exists, every
 * section they quote after it (`docs/protocol.md "Managed processes": "Backoff"`) is a
 * heading or a bold item of that page, and none cites what the repository does not hold
 * (an external contract's section numbers, an issue number).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'node_modules' || name.startsWith('.') ? [] : sources(path)
    return /\.(ts|mjs|js|cc|h|sh)$/.test(name) ? [path] : []
  })
}

/** The file's text with comment line prefixes folded away, so a wrapped citation reads as one. */
function flowed(text: string): string {
  return text.replace(/\n\s*(?:\*|\/\/|#)\s?/g, ' ')
}

/** `docs/page.md` with the names quoted after it, as `[page, names]`. */
function citations(text: string): Array<[string, string[]]> {
  const out: Array<[string, string[]]> = []
  for (const m of flowed(text).matchAll(/docs\/([\w-]+\.md)((?:[,:]? "[^"]+")*)/g))
    out.push([m[1], [...m[2].matchAll(/"([^"]+)"/g)].map((q) => q[1])])
  return out
}

/** Whether `name` is a heading of `page` or one of its bold items (`**Name.**`). */
function names(page: string, name: string): boolean {
  const heading = page.split('\n').some((l) => l.startsWith('#') && l.replace(/^#+ /, '') === name)
  return heading || page.includes(`**${name}.**`) || page.includes(`**${name}**`)
}

const self = fileURLToPath(import.meta.url)
// The console's vendored libraries are not ours to annotate.
const files = [
  ...['src', 'native', 'test', 'bench', 'soak', 'scripts', 'console'].flatMap((d) => sources(join(root, d))),
  join(root, '.ci/run'),
].filter((f) => f !== self && !f.includes('/console/vendor/'))

describe('citations in code comments', () => {
  it('name docs/ pages that exist, and sections those pages have', () => {
    const bad: string[] = []
    for (const file of files) {
      for (const [page, quoted] of citations(readFileSync(file, 'utf8'))) {
        const path = join(root, 'docs', page)
        if (!existsSync(path)) {
          bad.push(`${relative(root, file)}: docs/${page}`)
          continue
        }
        const text = readFileSync(path, 'utf8')
        for (const q of quoted) if (!names(text, q)) bad.push(`${relative(root, file)}: docs/${page} "${q}"`)
      }
    }
    expect(bad).toEqual([])
  })

  it('never cite a contract section number or an issue number', () => {
    const bad = files
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((l, i) => [f, i + 1, l] as const),
      )
      .filter(([, , l]) => /spec §|§\d|\b[Ii]ssues? \d+/.test(l))
      .map(([f, n]) => `${relative(root, f)}:${n}`)
    expect(bad).toEqual([])
  })

  it('reads a wrapped citation with its quoted sections', () => {
    const text = '/**\n * rule (docs/protocol.md "Managed processes":\n * "Restart", "Backoff"), pure\n */'
    expect(citations(text)).toEqual([['protocol.md', ['Managed processes', 'Restart', 'Backoff']]])
    expect(citations('// see docs/errors.md: `syscall: "cgroup"`')).toEqual([['errors.md', []]])
  })
})
