// A private code-server (VS Code in the browser) for the end-to-end test: its own user-data, extensions and
// config folders under a temporary directory, the extension's .vsix installed, bound to 127.0.0.1 on a
// free port with no authentication, telemetry or update checks. scripts/install-e2e.sh installs it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";

import { within } from "../protocol/session";

const LISTENING = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)\//;

export interface CodeServerOptions {
  /** code-server's entry point (e2e/node_modules/code-server/out/node/entry.js). */
  entry: string;
  vsix: string;
  /** A fresh directory for everything code-server writes. */
  home: string;
  /** User settings (settings.json). */
  settings: Record<string, unknown>;
  /** Extra environment for code-server, and so for the extension host and the language server. */
  env: Record<string, string>;
}

export class CodeServer {
  private constructor(
    private readonly process: ChildProcess,
    /** http://127.0.0.1:PORT */
    readonly url: string,
    readonly userDataDir: string,
    readonly logFile: string,
  ) {}

  /** Installs the .vsix and starts code-server; resolves once it listens. */
  static async start(options: CodeServerOptions, seconds = 60): Promise<CodeServer> {
    const dirs = {
      userData: path.join(options.home, "user-data"),
      extensions: path.join(options.home, "extensions"),
      config: path.join(options.home, "config"),
      data: path.join(options.home, "data"),
    };
    for (const dir of Object.values(dirs)) {
      mkdirSync(dir, { recursive: true });
    }
    mkdirSync(path.join(dirs.userData, "User"), { recursive: true });
    writeFileSync(path.join(dirs.userData, "User", "settings.json"), JSON.stringify(options.settings, null, 2));
    const configFile = path.join(dirs.config, "config.yaml");
    writeFileSync(configFile, "auth: none\ncert: false\n");
    const env = {
      ...process.env,
      ...options.env,
      // code-server keeps its own state under XDG_DATA_HOME and XDG_CONFIG_HOME: not the user's.
      XDG_DATA_HOME: dirs.data,
      XDG_CONFIG_HOME: dirs.config,
    };
    const common = ["--config", configFile, "--user-data-dir", dirs.userData, "--extensions-dir", dirs.extensions];
    const install = spawnSync(process.execPath, [options.entry, ...common, "--install-extension", options.vsix], {
      env,
      encoding: "utf8",
      timeout: seconds * 1000,
    });
    if (install.status !== 0 || !/was successfully installed/.test(install.stdout)) {
      throw new Error(`installing ${options.vsix} failed: ${install.stdout}${install.stderr}`);
    }
    const args = [
      options.entry,
      ...common,
      "--bind-addr",
      "127.0.0.1:0",
      "--auth",
      "none",
      "--disable-telemetry",
      "--disable-update-check",
      "--disable-workspace-trust",
      "--disable-getting-started-override",
      "--disable-proxy",
      "--ignore-last-opened",
    ];
    const logFile = path.join(options.home, "code-server.log");
    const log = createWriteStream(logFile);
    // Its own process group, so that stop() ends the extension host and the language server with it.
    const child = spawn(process.execPath, args, { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child.stderr.pipe(log);
    const url = new Promise<string>((resolve, reject) => {
      let seen = "";
      child.stdout.on("data", (chunk: Buffer) => {
        log.write(chunk);
        seen += chunk.toString("utf8");
        const found = LISTENING.exec(seen);
        if (found?.[1] !== undefined) {
          resolve(found[1]);
        }
      });
      child.once("exit", (code) => {
        reject(new Error(`code-server exited (${String(code)}) before listening; see ${logFile}`));
      });
    });
    try {
      return new CodeServer(child, await within(url, seconds, "code-server to listen"), dirs.userData, logFile);
    } catch (error) {
      killGroup(child, "SIGKILL");
      throw error;
    }
  }

  /** The folder's workbench URL. */
  folderUrl(folder: string): string {
    return `${this.url}/?folder=${encodeURIComponent(folder)}`;
  }

  /** The extension's output channel ("copilot-index") as VS Code writes it to disk, or undefined. */
  outputChannelLog(): string | undefined {
    const logs = path.join(this.userDataDir, "logs");
    if (!existsSync(logs)) {
      return undefined;
    }
    for (const session of readdirSync(logs).sort().reverse()) {
      for (const host of readdirSync(path.join(logs, session)).filter((d) => d.startsWith("exthost"))) {
        const file = path.join(logs, session, host, "copilot-index.copilot-index", "copilot-index.log");
        if (existsSync(file)) {
          return file;
        }
      }
    }
    return undefined;
  }

  /** The extension host's log (activation events). */
  extensionHostLog(): string {
    const file = this.outputChannelLog();
    return file === undefined ? "" : readFileSync(path.join(path.dirname(file), "..", "remoteexthost.log"), "utf8");
  }

  /** Ends code-server and everything it started: SIGTERM to its process group, then SIGKILL. */
  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        resolve();
      } else {
        this.process.once("exit", () => {
          resolve();
        });
      }
    });
    killGroup(this.process, "SIGTERM");
    await within(exited, 10, "code-server to exit").catch(() => undefined);
    killGroup(this.process, "SIGKILL"); // what is left of the group: the language server, watchers
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) {
    return;
  }
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}
