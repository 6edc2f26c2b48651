// ESLint (flat config) with typescript-eslint's strict, type-checked rules.
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["out/", "dist/", "node_modules/", "e2e/", "test-results/", "eslint.config.mjs"] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: false }],
      eqeqeq: "error",
      "no-console": "error",
    },
  },
  {
    // Build scripts in plain JavaScript (esbuild.mjs): linted without type information.
    files: ["**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // core/ and the tests run in plain Node, without VS Code.
    files: ["src/core/**/*.ts", "test/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: [{ name: "vscode", message: "core/ and test/ must run without VS Code." }] }],
    },
  },
  {
    // node:test runs the tests it is handed; their promises are its business.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "describe", "it"] }] },
      ],
    },
  },
  {
    // The protocol and end-to-end tests are command-line scripts: they report on stdout and stderr.
    files: ["test/protocol/**/*.ts", "test/e2e/**/*.ts"],
    rules: { "no-console": "off" },
  },
);
