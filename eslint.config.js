// ESLint with typescript-eslint's type-aware rules. The product (src/) and the benches get the whole
// recommended type-checked set; the tests read JSON answers and poke at internals, so the rules
// about `any` flowing around are off there (a test's assertions catch what they would).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'native/', 'generated/', '**/*.cjs', '.vitest-results*.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_name` marks a parameter kept for its position (a callback's signature)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // an async method with no await keeps a Promise-returning interface (and turns a throw into
      // a rejection, which callers rely on)
      '@typescript-eslint/require-await': 'off',
      // a literal beside `string` documents the special value a field may hold ('interface-floating')
      '@typescript-eslint/no-redundant-type-constituents': 'off',
    },
  },
  {
    // a function a reader takes in at once (issue 13); generated code is ignored above
    files: ['src/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  {
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // terminal output is matched with its ANSI escapes
      'no-control-regex': 'off',
      // tests destructure modules and mocks freely
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
