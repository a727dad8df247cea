// Lint rules the build enforces (run by `npm run lint` and .ci/run).
// The layer order of DESIGN.md is a rule here, not a habit: each folder may
// import only the layers below it (docs/DESIGN.md, "Layers").
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// What each folder of src/ must not import: everything above it.
const above = {
  ring: ['runtime', 'ops', 'fs', 'net', 'http', 'cli'],
  runtime: ['ops', 'fs', 'net', 'http', 'cli'],
  ops: ['fs', 'net', 'http', 'cli'],
  fs: ['net', 'http', 'cli'],
  net: ['fs', 'http', 'cli'],
  http: ['fs', 'cli'],
};

const layerRules = Object.entries(above).map(([folder, banned]) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: `^\\.\\./(${banned.join('|')})/|^\\.\\./(register|index|probe)\\.js$`,
            message: `src/${folder}/ may import only the layers below it (docs/DESIGN.md, "Layers").`,
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'bench/out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      // TypeScript checks names itself (and knows Node's globals from @types/node).
      'no-undef': 'off',
      // Stack-trace capture (Error.captureStackTrace) takes any function.
      '@typescript-eslint/no-unsafe-function-type': 'off',
      'no-duplicate-imports': ['error', { allowSeparateTypeImports: true }],
      // Parameters an interface or callback shape requires may go unused.
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  // CommonJS fixtures show uring under code written the CommonJS way.
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // The type tests' CommonJS files import uring as CommonJS TypeScript does.
  { files: ['test/types/**/*.cts'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  // Tests may poke at internals with `any`, and drop a reference (x = undefined)
  // so that the GC may collect what it held.
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-useless-assignment': 'off' } },
  ...layerRules,
);
