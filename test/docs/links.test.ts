/**
 * Every relative link in README.md and docs/*.md names a file that exists and, with a
 * `#fragment`, a heading of that file: the README is cut to a front page that links to
 * the pages in docs/, so a moved section must not leave a dead link behind.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** GitHub's heading anchor: lower case, punctuation but `-` and `_` dropped, spaces to `-`. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** Headings outside code fences, as anchors (a repeated heading gets `-1`, `-2`, ...). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    const m = fenced ? null : /^#{1,6} (.*)$/.exec(line)
    if (!m) continue
    const base = slug(m[1])
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

/** Link targets outside code fences and inline code. */
function links(markdown: string): string[] {
  const out: string[] = []
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    if (fenced) continue
    const text = line.replace(/`[^`]*`/g, '')
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) out.push(m[1])
  }
  return out
}

/** The dead links of one markdown file, as `file: target`. */
function deadLinks(file: string): string[] {
  const dead: string[] = []
  for (const target of links(readFileSync(file, 'utf8'))) {
    if (/^[a-z]+:/.test(target)) continue
    const [path, fragment] = target.split('#')
    const to = path === '' ? file : join(dirname(file), decodeURIComponent(path))
    if (!existsSync(to)) dead.push(`${file}: ${target}`)
    else if (fragment !== undefined && to.endsWith('.md') && !anchors(readFileSync(to, 'utf8')).has(fragment))
      dead.push(`${file}: ${target}`)
  }
  return dead
}

const pages = readdirSync(join(root, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => join(root, 'docs', f))

describe('documentation links', () => {
  it('README.md and every docs/ page link only to files and headings that exist', () => {
    const dead = [join(root, 'README.md'), ...pages].flatMap(deadLinks)
    expect(dead.map((d) => d.slice(root.length + 1))).toEqual([])
  })

  it('README.md links to every docs/ page', () => {
    const linked = new Set(links(readFileSync(join(root, 'README.md'), 'utf8')).map((t) => t.split('#')[0]))
    const missing = pages.map((p) => `docs/${p.slice(join(root, 'docs').length + 1)}`).filter((p) => !linked.has(p))
    expect(missing).toEqual([])
  })

  it('finds a dead link and a dead anchor', () => {
    expect(slug('`proc.kill([signal])`, `proc.killTree()`')).toBe('prockillsignal-prockilltree')
    expect(anchors('# A b\n## A b\n```\n# not\n```\n')).toEqual(new Set(['a-b', 'a-b-1']))
    expect(links('[x](a.md#b) `[y](c.md)`\n```\n[z](d.md)\n```\n')).toEqual(['a.md#b'])
  })
})
