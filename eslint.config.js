// `npm run lint` (and `npm test`): the recommended rules over every JS file of the repository.
import js from '@eslint/js'
import globals from 'globals'

export default [
  {
    ignores: ['pkg/**', 'target/**', 'fuzz/target/**', 'artifacts/**', 'scratch/**', '**/node_modules/**', 'pkg-tests/.work/**', '**/dist/**'],
  },
  js.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node, ...globals.browser },
    },
    rules: {
      // `_name` marks a parameter or binding kept for its position; a caught error may go unused.
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
]
