// ESLint with typescript-eslint's recommended type-checked rules: the rules that need types
// (floating promises, unsafe any, unnecessary conditions of the recommended set) catch what tsc
// alone lets through. `npm run lint` runs it over src, scripts and bench; a rule is turned off
// only on a line, with the reason beside it (`eslint-disable-next-line rule -- why`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_name` marks a parameter a signature needs but the body does not (e.g. a table row's).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
