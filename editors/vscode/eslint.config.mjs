// ESLint (flat config) with typescript-eslint's strict, type-checked rules.
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["out/", "node_modules/", "eslint.config.mjs"] },
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
    // The protocol test is a command-line script: it reports on stdout and stderr.
    files: ["test/protocol/**/*.ts"],
    rules: { "no-console": "off" },
  },
);
