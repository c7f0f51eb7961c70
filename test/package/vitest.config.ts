import { defineConfig } from 'vitest/config'

// The package as users get it: `npm pack` once (prepack builds dist/ and both
// prebuilds), then every file here works on that tarball. `npm run test:package`;
// SANDPROC_TARBALL=path reuses a tarball already packed (.ci/run packs once for this
// and for the old-distro checks).
export default defineConfig({
  test: {
    include: ['test/package/**/*.test.ts'],
    globalSetup: ['test/package/setup.ts'],
    pool: 'forks',
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
})
