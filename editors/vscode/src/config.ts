// Reads the copilotIndex.* settings from VS Code; what they mean is decided in core/ (tested without VS Code).
import * as vscode from "vscode";

import { readLaunchSettings, type LaunchSettings } from "./core/launch";
import { SECTION, serverSettings, type ServerSettings } from "./core/settings";

/** The value the user set for `key` (folder, workspace or user settings), ignoring the default. */
function userValue(config: vscode.WorkspaceConfiguration, key: string): unknown {
  const inspected = config.inspect(key);
  return inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
}

/** The server settings the user set, for `keys` (see serverSettingKeys). */
export function currentServerSettings(keys: readonly string[], scope?: vscode.Uri): ServerSettings {
  const config = vscode.workspace.getConfiguration(SECTION, scope ?? null);
  return serverSettings(keys, (key) => userValue(config, key));
}

/** How the server is started. */
export function currentLaunchSettings(): LaunchSettings {
  const config = vscode.workspace.getConfiguration(SECTION);
  return readLaunchSettings((key) => config.get(key));
}

/** How many results Search Codebase asks for. */
export function searchResults(): number {
  const value = vscode.workspace.getConfiguration(SECTION).get<number>("search.results", 20);
  return Number.isInteger(value) && value > 0 ? value : 20;
}

/** Settings that only take effect when the server is started again. */
export const RESTART_SETTINGS = [`${SECTION}.server`, `${SECTION}.pythonPath`];
