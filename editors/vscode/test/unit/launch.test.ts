import { strict as assert } from "node:assert";
import { test } from "node:test";

import {
  findExecutable,
  LaunchError,
  readLaunchSettings,
  resolveServerLaunch,
  serverExecutable,
  SERVER_MODULE,
  type LaunchContext,
} from "../../src/core/launch";

function context(files: string[], extra: Partial<LaunchContext> = {}): LaunchContext {
  return {
    env: { PATH: "/usr/bin:/opt/venv/bin", HOME: "/home/me" },
    platform: "linux",
    home: "/home/me",
    isExecutable: (file) => files.includes(file),
    ...extra,
  };
}

const defaults = readLaunchSettings(() => undefined);

test("the defaults start copilot-lsp from PATH with no arguments", () => {
  const launch = resolveServerLaunch(defaults, context(["/opt/venv/bin/copilot-lsp"]));
  assert.equal(launch.command, "/opt/venv/bin/copilot-lsp");
  assert.deepEqual(launch.args, []);
  assert.equal(launch.env.HOME, "/home/me");
});

test("a Python interpreter runs the server module, with verbosity and extra arguments", () => {
  const settings = readLaunchSettings((key) =>
    ({ pythonPath: "~/venv/bin/python", "server.logLevel": "debug", "server.args": ["--log-file", "x.log"] })[key],
  );
  const launch = resolveServerLaunch(settings, context(["/home/me/venv/bin/python"]));
  assert.equal(launch.command, "/home/me/venv/bin/python");
  assert.deepEqual(launch.args, ["-m", SERVER_MODULE, "-vv", "--log-file", "x.log"]);
});

test("the server command expands ${workspaceFolder} and takes extra environment variables", () => {
  const settings = readLaunchSettings((key) =>
    ({
      "server.command": "${workspaceFolder}/.venv/bin/copilot-lsp",
      "server.env": { COPILOT_INDEX_HOME: "/data", BAD: 3 },
      "server.logLevel": "info",
    })[key],
  );
  const launch = resolveServerLaunch(settings, context(["/repo/.venv/bin/copilot-lsp"], { workspaceFolder: "/repo" }));
  assert.equal(launch.command, "/repo/.venv/bin/copilot-lsp");
  assert.deepEqual(launch.args, ["-v"]);
  assert.equal(launch.env.COPILOT_INDEX_HOME, "/data");
  assert.equal(launch.env.BAD, undefined);
});

test("a missing server says which settings to change", () => {
  assert.throws(
    () => resolveServerLaunch(defaults, context([])),
    (error: unknown) =>
      error instanceof LaunchError &&
      error.message.startsWith("copilot-lsp was not found") &&
      error.message.includes("copilotIndex.server.command") &&
      error.message.includes("copilotIndex.pythonPath"),
  );
  const python = readLaunchSettings((key) => (key === "pythonPath" ? "/nope/python" : undefined));
  assert.throws(() => resolveServerLaunch(python, context([])), /copilotIndex\.pythonPath \(\/nope\/python\) was not found/);
});

test("bad setting values fall back to the defaults", () => {
  const settings = readLaunchSettings((key) =>
    ({ "server.command": 7, "server.args": "nope", "server.logLevel": "loud", pythonPath: null })[key],
  );
  assert.deepEqual(settings, { command: "copilot-lsp", pythonPath: "", args: [], env: {}, logLevel: "warning" });
});

test("Windows finds executables through PATHEXT", () => {
  const windows = context(["C:\\venv\\Scripts\\copilot-lsp.EXE"], {
    platform: "win32",
    env: { Path: "C:\\Windows;C:\\venv\\Scripts", PATHEXT: ".COM;.EXE" },
  });
  assert.equal(findExecutable("copilot-lsp", windows), "C:\\venv\\Scripts\\copilot-lsp.EXE");
});

test("the executable is what vscode-languageclient spawns: no transport arguments added", () => {
  const launch = resolveServerLaunch(defaults, context(["/usr/bin/copilot-lsp"]));
  assert.deepEqual(serverExecutable(launch, "/repo"), {
    command: "/usr/bin/copilot-lsp",
    args: [],
    options: { env: launch.env, cwd: "/repo" },
  });
});
