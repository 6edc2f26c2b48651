#!/usr/bin/env bash
# Installs what the VS Code end-to-end test (tests/editors/test_vscode_e2e.py) needs, offline but for the
# package registries: Debian's chromium (driven by playwright-core, a devDependency of the extension),
# ripgrep and a font, and code-server 4.96 (VS Code for the browser; the 4.96 line runs on Node 20) in
# editors/vscode/e2e/node_modules. Run as root where the Debian packages are missing. Safe to rerun: it
# does nothing once everything is in place.
#
# code-server's own postinstall cannot run here, so this does its steps by hand:
# - its VS Code's npm-shrinkwrap.json takes @vscode/proxy-agent from a GitHub git URL; the same tarball
#   (same integrity hash) is on the npm registry, so the URL is rewritten to the registry's;
# - @vscode/ripgrep's postinstall downloads rg from GitHub: Debian's rg is linked in its place;
# - the native modules (node-pty, spdlog, the file watcher, the watchdog, argon2) are compiled from their
#   sources against Node's headers (prebuilt binaries would be downloads); kerberos is left out, it is only
#   for proxies that ask for Kerberos.
set -euo pipefail

EXTENSION="$(cd "$(dirname "$0")/.." && pwd)"
E2E="$EXTENSION/e2e"
CODE_SERVER="$E2E/node_modules/code-server"
VSCODE="$CODE_SERVER/lib/vscode"
STAMP="$E2E/node_modules/.copilot-index-e2e"
PROXY_AGENT_GIT="git+ssh://git@github.com/microsoft/vscode-proxy-agent.git#0803e0a7d1249bcb64ae9d256d0ee732b7246ea5"
PROXY_AGENT_NPM="https://registry.npmjs.org/@vscode/proxy-agent/-/proxy-agent-0.27.0.tgz"
NATIVE="@parcel/watcher @vscode/spdlog @vscode/deviceid native-watchdog node-pty"
NPM_FLAGS=(--no-audit --no-fund --loglevel=error)

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v rg >/dev/null || missing+=(ripgrep)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-e2e: run as root (or apt-get install -y ${missing[*]}) to install ${missing[*]}" >&2
    exit 1
  fi
  echo "install-e2e: apt-get install ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

want="$(cat "$E2E/package-lock.json" "$0" | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi
echo "install-e2e: code-server (a few minutes: native modules are compiled)"
cd "$E2E"
npm ci --ignore-scripts "${NPM_FLAGS[@]}"
npm rebuild argon2 "${NPM_FLAGS[@]}"

cd "$VSCODE"
sed -i "s|$PROXY_AGENT_GIT|$PROXY_AGENT_NPM|" npm-shrinkwrap.json
# npm install, not npm ci: the shrinkwrap code-server ships is not quite in sync with its package.json.
npm install --omit=dev --ignore-scripts "${NPM_FLAGS[@]}"
# shellcheck disable=SC2086 # a list of package names
npm rebuild $NATIVE "${NPM_FLAGS[@]}"
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sfn "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
ln -sfn node_modules node_modules.asar
ln -sfn code-linux.sh bin/remote-cli/code-server
ln -sfn browser-linux.sh bin/helpers/browser.sh
(cd extensions && npm install --omit=dev --ignore-scripts "${NPM_FLAGS[@]}" && node postinstall.mjs >/dev/null)

node "$CODE_SERVER/out/node/entry.js" --version >/dev/null
echo "$want" > "$STAMP"
echo "install-e2e: code-server $(node "$CODE_SERVER/out/node/entry.js" --version | head -1)"
