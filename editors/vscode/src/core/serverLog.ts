// The server's stderr as log records for the output channel. No `vscode` import: unit-tested in Node.
//
// copilot-lsp writes `2026-12-02 09:39:37,038 INFO name: message` (server/lsp/logs.py). vscode-languageclient
// would log every stderr line as an error; here each line keeps its record's level, without the server's
// timestamp (the channel adds its own). Lines that are not records (a traceback, a library's progress bar)
// belong to the record before them.

export type ChannelLevel = "error" | "warn" | "info";

export interface ChannelLine {
  level: ChannelLevel;
  text: string;
}

const RECORD = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$/s;

/** One stderr line as a channel line; `previous` is the level of the line before it. */
export function serverLogLine(line: string, previous: ChannelLevel = "info"): ChannelLine {
  const record = RECORD.exec(line);
  if (record === null) {
    return { level: previous, text: line };
  }
  const [, level, text = ""] = record;
  switch (level) {
    case "ERROR":
    case "CRITICAL":
      return { level: "error", text };
    case "WARNING":
      return { level: "warn", text };
    case "INFO":
      return { level: "info", text };
    default:
      // The channel hides its own debug level unless the user lowers it; `server.logLevel: debug` asked for these.
      return { level: "info", text: `DEBUG ${text}` };
  }
}

/** Whether `copilotIndex.trace.server` asks for the LSP traffic in the output channel. */
export function traceRequested(setting: unknown): boolean {
  return setting === "messages" || setting === "verbose";
}
