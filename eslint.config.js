/** ESLint runs one rule that Biome (biome.jsonc) cannot do fully: no-floating-promises with the
 * TypeScript checker's types. Biome's own noFloatingPromises misses promises from node:* built-ins
 * (fs/promises, timers/promises, events.once, stream/promises). Everything else is Biome's. */
import tseslint from 'typescript-eslint';

const rules = { '@typescript-eslint/no-floating-promises': 'error' };

export default [
  { ignores: ['dist/**', 'node_modules/**', 'bench/.cache/**', 'bench/out/**', 'test-output/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src/dashboard/client/**'],
    languageOptions: { parser: tseslint.parser, parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules,
  },
  {
    files: ['src/dashboard/client/**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { project: './src/dashboard/client/tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules,
  },
];
