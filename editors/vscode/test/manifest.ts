// The extension manifest (package.json), read by the tests from the compiled output folder.
import { readFileSync } from "node:fs";
import * as path from "node:path";

import type { Manifest } from "../src/core/settings";

/** The extension's folder (tests run from out/test/...). */
export const EXTENSION_ROOT = path.resolve(__dirname, "..", "..");

export interface FullManifest extends Manifest {
  main: string;
  engines: { vscode: string };
  activationEvents?: string[];
  devDependencies: Record<string, string>;
  contributes: NonNullable<Manifest["contributes"]> & {
    configuration: { properties: Record<string, { default?: unknown; type?: string | string[]; scope?: string }> };
    commands: { command: string; title: string }[];
    keybindings?: { command: string }[];
  };
}

export function readManifest(): FullManifest {
  return JSON.parse(readFileSync(path.join(EXTENSION_ROOT, "package.json"), "utf8")) as FullManifest;
}
