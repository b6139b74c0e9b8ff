#!/usr/bin/env bash
# Validates the deployment files offline (run by `./dev test` through
# api/tests/deployment.rs):
#   - the Kubernetes base and example overlay render (`kubectl kustomize`) and every
#     resource passes the Kubernetes 1.30 schemas, strictly (kubernetes-validate, PyPI,
#     its schemas bundled: no network);
#   - the Prometheus alert rules pass `promtool check rules` and their unit tests
#     (`promtool test rules`);
#   - the Grafana dashboard is a well-formed dashboard (ids, grid, targets), each of its
#     queries is valid PromQL (checked by promtool as recording rules);
#   - every metric the rules and the dashboard read is one the code exports.
# Needs kubectl, promtool and python3 with venv (`./dev test` installs them).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
VENV="$ROOT/.dev/deploy-venv"
VALIDATE_VERSION=1.37.0
K8S_VERSION=1.30.0
for tool in kubectl promtool python3; do
  command -v "$tool" >/dev/null || { echo "[deploy] $tool not found (./dev test installs it)" >&2; exit 2; }
done
mkdir -p "$ROOT/.dev"
exec 9>"$ROOT/.dev/deploy-venv.lock"
flock 9
if [ "$("$VENV/bin/kubernetes-validate" --version 2>/dev/null)" != "$VALIDATE_VERSION" ]; then
  echo "[deploy] installing kubernetes-validate==$VALIDATE_VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$VALIDATE_VERSION" >&2
fi
flock -u 9
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for k in base overlays/example; do
  out="$WORK/$(echo "$k" | tr / _).yaml"
  kubectl kustomize "$HERE/k8s/$k" > "$out" 2> "$WORK/kustomize.err" \
    || { cat "$WORK/kustomize.err" >&2; echo "[deploy] k8s/$k does not render" >&2; exit 1; }
  "$VENV/bin/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$out"
  echo "[deploy] k8s/$k: $(grep -c '^kind:' "$out") resources valid against Kubernetes $K8S_VERSION"
done

promtool check rules "$HERE/prometheus/alerts.yml"
(cd "$HERE/prometheus" && promtool test rules alerts.test.yml)

python3 - "$HERE/grafana/tentabo.json" "$WORK/dashboard-rules.yml" <<'PY'
import json, sys
path, rules = sys.argv[1], sys.argv[2]
d = json.load(open(path, encoding="utf-8"))
problems = []
for key in ("uid", "title", "panels", "schemaVersion"):
    if key not in d:
        problems.append(f"missing `{key}`")
ids, exprs = set(), []
for p in d.get("panels", []):
    pid = p.get("id")
    if not isinstance(pid, int) or pid in ids:
        problems.append(f"panel id {pid!r} missing or repeated")
    ids.add(pid)
    g = p.get("gridPos", {})
    if not all(isinstance(g.get(k), int) for k in "xywh") or g["x"] + g["w"] > 24:
        problems.append(f"panel {pid}: bad gridPos {g}")
    if p.get("type") not in ("stat", "timeseries", "table", "gauge", "bargauge"):
        problems.append(f"panel {pid}: unknown type {p.get('type')!r}")
    if not p.get("targets"):
        problems.append(f"panel {pid}: no query")
    for t in p.get("targets", []):
        if not t.get("expr", "").strip():
            problems.append(f"panel {pid}: empty query")
        exprs.append(t.get("expr", ""))
if problems:
    sys.exit("[deploy] grafana/tentabo.json: " + "; ".join(problems))
with open(rules, "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        f.write(f"      - record: dashboard_query_{i}\n        expr: {json.dumps(e)}\n")
print(f"[deploy] grafana/tentabo.json: {len(ids)} panels, {len(exprs)} queries")
PY
promtool check rules "$WORK/dashboard-rules.yml" >/dev/null \
  || { promtool check rules "$WORK/dashboard-rules.yml" >&2; echo "[deploy] a dashboard query is not valid PromQL" >&2; exit 1; }

# Every metric read is exported somewhere in the code (histograms: _sum/_count/_bucket).
missing=0
for m in $(grep -ohE '\b(tentabo_[a-z_]+|http_[a-z_]+|jobs_finished_total|worker_restarts_total|outbox_relayed_total)\b' \
             "$HERE/prometheus/alerts.yml" "$HERE/grafana/tentabo.json" | sort -u); do
  base=$(echo "$m" | sed -E 's/_(sum|count|bucket)$//')
  if ! grep -rqF "\"$base\"" "$ROOT/api/src" "$ROOT/worker/src" "$ROOT/workflows/src"; then
    echo "[deploy] $m is read by the rules or the dashboard but no code exports $base" >&2
    missing=1
  fi
done
[ "$missing" = 0 ]
echo "[deploy] every metric read is exported"
