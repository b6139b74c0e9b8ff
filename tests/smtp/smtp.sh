#!/usr/bin/env bash
# A real SMTP server for tests: aiosmtpd (PyPI, pinned) in .dev/smtp-venv, made on first
# use; listens on 127.0.0.1:<port> and writes each accepted message as JSON in <out-dir>.
#   tests/smtp/smtp.sh <port> <out-dir>
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VERSION=1.4.6
VENV="$ROOT/.dev/smtp-venv"
mkdir -p "$ROOT/.dev"
# Several tests may start a server at once: one of them installs, the others wait.
exec 9>"$ROOT/.dev/smtp-venv.lock"
flock 9
if ! "$VENV/bin/python" -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$VERSION')" 2>/dev/null; then
  echo "[smtp] installing aiosmtpd==$VERSION into $VENV" >&2
  python3 -m venv "$VENV" || { echo "[smtp] python3 -m venv failed: apt-get install python3-venv" >&2; exit 2; }
  "$VENV/bin/pip" install -q --disable-pip-version-check "aiosmtpd==$VERSION" >&2
fi
flock -u 9
exec "$VENV/bin/python" "$HERE/server.py" "$@"
