#!/usr/bin/env bash
# Prism (Stoplight's OpenAPI mock server, npm @stoplight/prism-cli), pinned, installed in
# .dev/prism on first use; arguments go to `prism` (e.g. `mock -h 127.0.0.1 -p 4010 spec.json`).
# In mock mode Prism validates every request against the spec and answers a request that
# breaks it with the spec's 422/400 (or 401 without the bearer token): what the Pennylane
# client's contract test relies on.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VERSION=5.14.2                      # pinned: the version SOURCES.md's spec quirks were seen with
DIR="$ROOT/.dev/prism"
BIN="$DIR/node_modules/.bin/prism"
command -v npm >/dev/null || { echo "[prism] npm not found: apt-get install nodejs npm" >&2; exit 2; }
if [ "$("$BIN" --version 2>/dev/null)" != "$VERSION" ]; then
  echo "[prism] installing @stoplight/prism-cli@$VERSION into $DIR" >&2
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "@stoplight/prism-cli@$VERSION" >&2
fi
exec "$BIN" "$@"
