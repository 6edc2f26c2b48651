// How to start the language server: the command, its arguments and environment, from the settings.
// No `vscode` import: unit-tested in Node and used by the protocol test to start the real server.
import { accessSync, constants, statSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";

/** `python -m` this module runs the server, the same as the `copilot-lsp` script. */
export const SERVER_MODULE = "copilot_index.server.lsp";
export const DEFAULT_COMMAND = "copilot-lsp";

export type LogLevel = "warning" | "info" | "debug";
const VERBOSITY: Record<LogLevel, string[]> = { warning: [], info: ["-v"], debug: ["-vv"] };

/** The extension's own settings that decide how the server starts. */
export interface LaunchSettings {
  command: string;
  pythonPath: string;
  args: string[];
  env: Record<string, string>;
  logLevel: LogLevel;
}

/** A resolved server command line. */
export interface ServerLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** The command line in words, for the log. */
  description: string;
}

/** What the resolution may look at on this machine; tests pass their own. */
export interface LaunchContext {
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  home: string;
  workspaceFolder?: string;
  isExecutable: (file: string) => boolean;
}

/** A server that cannot be started; the message says what to do. */
export class LaunchError extends Error {}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" ? value.trim() : fallback;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function stringMap(value: unknown): Record<string, string> {
  const map: Record<string, string> = {};
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === "string") {
        map[key] = item;
      }
    }
  }
  return map;
}

/** The launch settings from `get(key)` (effective values, key without `copilotIndex.`); bad values fall back. */
export function readLaunchSettings(get: (key: string) => unknown): LaunchSettings {
  const level = get("server.logLevel");
  return {
    command: stringOr(get("server.command"), DEFAULT_COMMAND) || DEFAULT_COMMAND,
    pythonPath: stringOr(get("pythonPath"), ""),
    args: strings(get("server.args")),
    env: stringMap(get("server.env")),
    logLevel: level === "info" || level === "debug" ? level : "warning",
  };
}

/** `~` and `${workspaceFolder}` expanded, as users write them in settings. */
export function expandPath(value: string, context: LaunchContext): string {
  let expanded = value;
  if (context.workspaceFolder !== undefined) {
    expanded = expanded.split("${workspaceFolder}").join(context.workspaceFolder);
  }
  if (expanded === "~" || expanded.startsWith("~/")) {
    expanded = context.home + expanded.slice(1);
  }
  return expanded;
}

/** The executable file `name` names: a path as given, or the first match on PATH (with PATHEXT on Windows). */
export function findExecutable(name: string, context: LaunchContext): string | undefined {
  const windows = context.platform === "win32";
  const pathApi = windows ? path.win32 : path.posix;
  const extensions = windows ? ["", ...(context.env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";")] : [""];
  const hasDirectory = name.includes("/") || (windows && name.includes("\\"));
  const directories = hasDirectory
    ? [""]
    : (context.env.PATH ?? context.env.Path ?? "").split(windows ? ";" : ":").filter((d) => d !== "");
  for (const directory of directories) {
    for (const extension of extensions) {
      const candidate = directory === "" ? name + extension : pathApi.join(directory, name + extension);
      if (context.isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** The server command line for these settings; throws LaunchError when the executable does not exist. */
export function resolveServerLaunch(settings: LaunchSettings, context: LaunchContext): ServerLaunch {
  const verbosity = VERBOSITY[settings.logLevel];
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(context.env)) {
    if (value !== undefined) {
      env[key] = value;
    }
  }
  Object.assign(env, settings.env);
  let command: string;
  let args: string[];
  if (settings.pythonPath !== "") {
    const python = findExecutable(expandPath(settings.pythonPath, context), context);
    if (python === undefined) {
      throw new LaunchError(
        `The Python in copilotIndex.pythonPath (${settings.pythonPath}) was not found: set it to a Python ` +
          "that has copilot-index installed, or clear it to use copilotIndex.server.command.",
      );
    }
    command = python;
    args = ["-m", SERVER_MODULE, ...verbosity, ...settings.args];
  } else {
    const found = findExecutable(expandPath(settings.command, context), context);
    if (found === undefined) {
      throw new LaunchError(
        `${settings.command} was not found: install copilot-index (pip install copilot-index) on PATH, or set ` +
          "copilotIndex.server.command to the full path of copilot-lsp, or copilotIndex.pythonPath to a " +
          "Python that has copilot-index installed.",
      );
    }
    command = found;
    args = [...verbosity, ...settings.args];
  }
  return { command, args, env, description: [command, ...args].join(" ") };
}

/** True for an existing file this process may execute. */
export function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) {
      return false;
    }
    accessSync(file, process.platform === "win32" ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** This machine's launch context. */
export function nodeLaunchContext(workspaceFolder?: string): LaunchContext {
  const context: LaunchContext = {
    env: process.env,
    platform: process.platform,
    home: homedir(),
    isExecutable: isExecutableFile,
  };
  if (workspaceFolder !== undefined) {
    context.workspaceFolder = workspaceFolder;
  }
  return context;
}

/** The server process as vscode-languageclient's `Executable` describes it (stdio, no extra arguments);
 * the protocol test spawns the same. */
export function serverExecutable(
  launch: ServerLaunch,
  cwd?: string,
): { command: string; args: string[]; options: { env: Record<string, string>; cwd?: string } } {
  const options: { env: Record<string, string>; cwd?: string } = { env: launch.env };
  if (cwd !== undefined) {
    options.cwd = cwd;
  }
  return { command: launch.command, args: launch.args, options };
}
