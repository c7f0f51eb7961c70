// ESLint for the TypeScript sources, tests, bench and fuzzers; Prettier owns the layout
// (.prettierrc.json), so no stylistic rule here. `npm run lint` runs both.
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'prebuilds/', 'node_modules/', 'bench/bun/', 'bench/c/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  // Plain JavaScript: the console runs in the browser as it is served (no build); the
  // rest (fixtures, hooks, this file) runs in Node.
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ignores: ['console/**'], languageOptions: { globals: globals.node } },
  { files: ['console/**/*.js'], languageOptions: { globals: globals.browser } },
  {
    rules: {
      // The compiler's noUnusedLocals already reports these, with the same exceptions.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
)
