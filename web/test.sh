#!/usr/bin/env bash
# The console's checks, in order: dependencies, generated client, types, component
# tests, production build (with the bundle budget), then the end-to-end journeys
# against the real API and worker when their binaries exist.
#   TENTABO_API_BIN / TENTABO_WORKER_BIN  prebuilt binaries (default ../target/debug/…)
#   DATABASE_URL / REDIS_URL              servers the e2e uses (a fresh database is made)
#   SKIP_E2E=1                            stop after the build
set -euo pipefail
cd "$(dirname "$0")"
export CI=1 NO_UPDATE_NOTIFIER=1 npm_config_fund=false npm_config_audit=false

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

stamp=node_modules/.package-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  step "npm ci"
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

step "API client matches openapi.json"
npm run --silent check:client
step "typecheck"
npm run --silent typecheck
step "component tests"
npm run --silent test
step "build"
npm run --silent build

api_bin=${TENTABO_API_BIN:-../target/debug/tentabo-api}
worker_bin=${TENTABO_WORKER_BIN:-../target/debug/tentabo-worker}
if [[ ${SKIP_E2E:-} == 1 ]]; then
  echo "e2e skipped (SKIP_E2E=1)"
elif [[ -x $api_bin && -x $worker_bin ]]; then
  step "end-to-end (Playwright, system Chromium)"
  if [[ ! -x ${CHROMIUM_PATH:-/usr/bin/chromium} ]]; then
    echo "no Chromium at ${CHROMIUM_PATH:-/usr/bin/chromium}: apt-get install -y chromium" >&2
    exit 1
  fi
  npx playwright test
else
  echo "e2e skipped: no $api_bin / $worker_bin (build them with cargo first)"
fi
