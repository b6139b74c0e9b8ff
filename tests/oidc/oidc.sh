#!/usr/bin/env bash
# A real OpenID Provider for the integration tests: panva's certified `oidc-provider` (npm),
# pinned, installed in .dev/oidc on first use, driven by tests/oidc/server.mjs (read its header
# for the environment variables, the accounts, the login form and the /__test/ control endpoints).
# Arguments are passed to server.mjs (it takes none today). stdout carries exactly one line,
# `READY <port>`, once the provider listens on 127.0.0.1; everything else goes to stderr.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# Pinned: 8.8.1 is the newest release whose runtime check accepts Node 20 ("Iron"); every 9.x
# release prints "Unsupported runtime. Use Node.js v22.x LTS" on Node 20 (none declares `engines`).
# server.mjs and smoke.sh also pass with OIDC_PROVIDER_VERSION=9.13.3 (on Node 20.20, with that warning).
VERSION=${OIDC_PROVIDER_VERSION:-8.8.1}
DIR="$ROOT/.dev/oidc"
PKG="$DIR/node_modules/oidc-provider/package.json"
command -v npm >/dev/null || { echo "[oidc] npm not found: apt-get install nodejs npm" >&2; exit 2; }

installed() { node -e 'process.stdout.write(require(process.argv[1]).version)' "$PKG" 2>/dev/null || true; }

mkdir -p "$DIR"
# Tests may start several providers at once: serialise the first-use install (and never look at a
# half-installed tree) with a lock held only around the check.
exec 9>"$DIR/.install.lock"
command -v flock >/dev/null && flock 9
if [ "$(installed)" != "$VERSION" ]; then
  echo "[oidc] installing oidc-provider@$VERSION into $DIR" >&2
  npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error --save-exact \
    "oidc-provider@$VERSION" >&2
fi
exec 9>&-
# server.mjs loads the package from here (ESM ignores NODE_PATH).
export OIDC_MODULES_DIR="$DIR"
exec node "$HERE/server.mjs" "$@"
