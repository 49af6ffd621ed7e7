import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**', '**/*.cjs', '**/*.mjs', 'jest.config.js', 'eslint.config.js'],
  },
  // Written by `npm run client:generate` (openapi-typescript), checked by test/client/generated-types.spec.ts.
  { ignores: ['src/client/generated/**'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Control characters in these regular expressions are the point: they reject NUL and C0 bytes in input.
      'no-control-regex': 'off',
      // main.ts registers the shutdown handler (which reads `app`) before the app exists.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `_name` marks a value deliberately unused (destructuring it away, a parameter an interface requires).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read untyped JSON bodies and YAML manifests and assert their shape with expect(); typing every body would restate the DTOs.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Test doubles implement async interfaces (onCreated, handlers) without needing to await anything.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['test/support/global-setup.ts'],
    // Jest loads globalSetup as CommonJS, outside its ESM module mapper: require() is the only way in.
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
