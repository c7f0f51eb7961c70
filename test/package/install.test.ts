// The tarball installed the ways users install it, into fresh projects outside the
// repository, then used the ways the README shows: its example, `npx sandproc run`,
// and `npx sandproc serve` answering its `curl -N`.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshProject, npm, readmeCurl, readmeExample, tarball } from './helpers.js'

const projects: string[] = []
afterAll(() => {
  for (const p of projects) rmSync(p, { recursive: true, force: true })
})

interface Mode {
  name: string
  allowScripts: boolean
  args: string[]
  env?: NodeJS.ProcessEnv
  /** Remove prebuilds/ after the install, so only a source build can load. */
  dropPrebuilds?: boolean
}

const modes: Mode[] = [
  { name: 'npm install --ignore-scripts', allowScripts: false, args: ['--ignore-scripts'] },
  { name: 'npm install, install script allowed', allowScripts: true, args: ['--foreground-scripts'] },
  // Where no prebuild fits (musl, another arch) the install script compiles: forced here.
  {
    name: 'npm install, built from source, no prebuild',
    allowScripts: true,
    args: ['--foreground-scripts'],
    env: { npm_config_build_from_source: 'true' },
    dropPrebuilds: true,
  },
]

describe.each(modes)('$name', (mode) => {
  let app = ''
  let installLog = ''
  const pkgDir = () => path.join(app, 'node_modules/sandproc')

  beforeAll(() => {
    app = freshProject()
    projects.push(app)
    if (mode.allowScripts) {
      // What `npm install-scripts approve sandproc` records for a tarball dependency.
      const allowScripts = { [`file:${tarball()}`]: true }
      const pkg = { name: 'app', version: '1.0.0', private: true, type: 'module', allowScripts }
      writeFileSync(path.join(app, 'package.json'), JSON.stringify(pkg, null, 2))
    }
    installLog = npm(app, ['install', tarball(), ...mode.args], mode.env)
    if (mode.dropPrebuilds) rmSync(path.join(pkgDir(), 'prebuilds'), { recursive: true, force: true })
  })

  it('installs as the mode says: prebuild, or build/ from source', () => {
    const ran = installLog.includes('> node-gyp-build')
    expect(ran).toBe(mode.allowScripts)
    expect(installLog).not.toMatch(/not yet covered by allowScripts/)
    expect(existsSync(path.join(pkgDir(), 'build'))).toBe(mode.dropPrebuilds === true)
    expect(existsSync(path.join(pkgDir(), 'prebuilds'))).toBe(mode.dropPrebuilds !== true)
  })

  it("runs the README's example", () => {
    writeFileSync(path.join(app, 'example.mjs'), readmeExample(app))
    // python3 block-buffers a pipe and the OOM kill comes before it flushes "hi":
    // unbuffered, the output event is there to check.
    const env = { ...process.env, PYTHONUNBUFFERED: '1' }
    const out = execFileSync(process.execPath, ['example.mjs'], { cwd: app, encoding: 'utf8', env })
    expect(out).toMatch(/^started \d+$/m)
    expect(out).toMatch(/^stdout hi$/m)
    expect(out).toMatch(/signal: 9/)
    expect(out).toMatch(/oom_killed: true/)
  })

  it('npx sandproc run --json -- echo hi', () => {
    const out = execFileSync('npx', ['sandproc', 'run', '--json', '--', 'echo', 'hi'], { cwd: app, encoding: 'utf8' })
    const events = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(events[0]).toHaveProperty('pid')
    expect(events).toContainEqual(expect.objectContaining({ line: 'hi', stream: 'stdout' }))
    expect(events.at(-1)).toMatchObject({ exit_code: 0 })
  })

  it("npx sandproc serve answers the README's curl -N", async () => {
    const server = spawn('npx', ['sandproc', 'serve', '--port', '0'], {
      cwd: app,
      env: { ...process.env, SANDPROC_TOKEN: 'secret' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    })
    try {
      let err = ''
      const url = await new Promise<string>((resolve, reject) => {
        server.stderr.setEncoding('utf8').on('data', (d: string) => {
          err += d
          const m = /listening on (http:\/\/\S+)/.exec(err)
          if (m) resolve(m[1])
        })
        server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)))
      })
      const curl = readmeCurl(app).replace('http://127.0.0.1:9501', url)
      const out = execFileSync('sh', ['-c', curl], { encoding: 'utf8' })
      const frames = out
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>)
      expect(frames[0]).toHaveProperty('pid')
      expect(frames).toContainEqual(expect.objectContaining({ line: 'hello', stream: 'stdout' }))
      expect(frames).toContainEqual(expect.objectContaining({ line: 'oops', stream: 'stderr' }))
      expect(frames.at(-1)).toMatchObject({ exit_code: 3, oom_kills: 0 })
      // The console and the xterm.js it serves resolve from the installed package.
      for (const asset of ['/', '/console/app.js', '/console/vendor/xterm.mjs']) {
        const res = await fetch(url + asset)
        expect(res.status, asset).toBe(200)
        expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(0)
      }

      // A service manager stops the whole group; npm exec does not pass SIGTERM on to
      // its child, the server shuts down on its own signal. EOF: every writer is gone.
      const ended = once(server.stderr, 'end')
      process.kill(-server.pid!, 'SIGTERM')
      await ended
      expect(err).toMatch(/sandproc: stopped\n/)
    } finally {
      try {
        process.kill(-server.pid!, 'SIGKILL')
      } catch {
        // The group has already gone.
      }
    }
  })
})
