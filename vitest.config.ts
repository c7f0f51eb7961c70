import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The installed-package suite packs the tarball first: `npm run test:package`; the
    // deployment shapes run only inside the cgroup v2 VM (test/vm/shapes.sh).
    exclude: [...configDefaults.exclude, 'test/package/**', 'test/vm/shapes/**'],
    // Native addons and process-wide state (signals, cgroups, credentials) do not
    // belong in worker threads: every test file gets its own process.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
