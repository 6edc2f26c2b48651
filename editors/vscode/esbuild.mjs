// Bundles the extension and vscode-languageclient into one file, dist/extension.js, the way VS Code's
// extension samples do: `node esbuild.mjs` (minified, what the .vsix ships) or `node esbuild.mjs --dev`
// (readable, with a source map). Type checking stays with `tsc` (npm run compile).
import process from "node:process";

import * as esbuild from "esbuild";

const dev = process.argv.includes("--dev");

await esbuild.build({
  entryPoints: ["src/extension.ts"],
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  // VS Code provides `vscode` at run time; everything else is in the bundle.
  external: ["vscode"],
  outfile: "dist/extension.js",
  minify: !dev,
  sourcemap: dev,
  sourcesContent: false,
  logLevel: "warning",
});
