import { defineConfig } from 'vitest/config'

// The deployment shapes (docs/deploying.md): only inside the cgroup v2 VM, through
// test/vm/shapes.sh, since they rearrange the root cgroup. One shape after another.
export default defineConfig({
  test: {
    include: ['test/vm/shapes/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
})
