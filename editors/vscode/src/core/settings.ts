// Which VS Code settings reach the server, and in what shape. No `vscode` import: unit-tested in Node.
//
// The server reads `initializationOptions`, the `copilotIndex` section of `workspace/configuration` and the
// repository's `.copilot-index.toml`, all shaped `{lsp: {...}, completion: {...}, index: {...}}` with the
// server's own key names. Only settings the user actually set are sent, so that an unset VS Code setting
// never hides a value from `.copilot-index.toml`.

/** The settings section, and the `workspace/configuration` section the server asks for. */
export const SECTION = "copilotIndex";

/** The tables of server settings, as in `.copilot-index.toml`. */
export const SERVER_TABLES = ["lsp", "completion", "index", "guards"] as const;
export type ServerTable = (typeof SERVER_TABLES)[number];

/** Server settings in the shape the server structures: one object per table (`guards` nests a table per guard). */
export type ServerSettings = Partial<Record<ServerTable, Record<string, unknown>>>;

/** The value the user set for a setting (key without the `copilotIndex.` prefix), or undefined. */
export type SettingLookup = (key: string) => unknown;

/** The part of the extension manifest (package.json) that declares the settings. */
export interface Manifest {
  contributes?: {
    configuration?: { properties?: Record<string, { default?: unknown }> };
    commands?: { command: string; title: string }[];
  };
}

function isServerTable(name: string): name is ServerTable {
  return (SERVER_TABLES as readonly string[]).includes(name);
}

/** The contributed settings the server reads (`lsp.*`, `completion.*`, `index.*`), without the prefix. */
export function serverSettingKeys(manifest: Manifest): string[] {
  const properties = manifest.contributes?.configuration?.properties ?? {};
  const prefix = `${SECTION}.`;
  return Object.keys(properties)
    .filter((id) => id.startsWith(prefix))
    .map((id) => id.slice(prefix.length))
    .filter((key) => isServerTable(key.split(".", 1)[0] ?? ""));
}

/** The settings among `keys` that the user set, nested by table; tables with nothing set are left out. */
export function serverSettings(keys: readonly string[], lookup: SettingLookup): ServerSettings {
  const settings: ServerSettings = {};
  for (const key of keys) {
    const dot = key.indexOf(".");
    const table = key.slice(0, dot);
    const value = lookup(key);
    if (dot < 0 || !isServerTable(table) || value === undefined) {
      continue;
    }
    // `guards.secrets.enabled` goes out as {guards: {secrets: {enabled: ...}}}, as in `.copilot-index.toml`.
    const path = key.slice(dot + 1).split(".");
    let node: Record<string, unknown> = (settings[table] ??= {});
    for (const part of path.slice(0, -1)) {
      node = (node[part] ??= {}) as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = value;
  }
  return settings;
}

/** The answer to `workspace/configuration`: for our section, the settings for the item's scope (the server
 * asks globally and for each repository folder); `fallback[i]` for other sections. */
export function configurationAnswer(
  items: readonly { section?: string; scopeUri?: string }[],
  settingsFor: (scopeUri: string | undefined) => ServerSettings,
  fallback: readonly unknown[] = [],
): unknown[] {
  return items.map((item, i) => (item.section === SECTION ? settingsFor(item.scopeUri) : (fallback[i] ?? null)));
}

/** `workspace/didChangeConfiguration` without settings: the server then asks for them again, globally and
 * per folder, through `workspace/configuration`. */
export const PULL_CONFIGURATION: { settings: null } = { settings: null };

/** Settings the server got at start but that are no longer set: only a restart takes them back, because
 * the server keeps its `initializationOptions` for the whole session. */
export function removedSettings(atStart: ServerSettings, now: ServerSettings): string[] {
  const removed: string[] = [];
  for (const table of SERVER_TABLES) {
    for (const name of Object.keys(atStart[table] ?? {})) {
      if (!(name in (now[table] ?? {}))) {
        removed.push(`${table}.${name}`);
      }
    }
  }
  return removed;
}
