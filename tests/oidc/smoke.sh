#!/usr/bin/env bash
# End-to-end smoke test of the test OpenID Provider (tests/oidc/oidc.sh), without Rust: curl
# drives authorization code + PKCE logins through the real login form, node does the JOSE bits.
# Checks: discovery, JWKS, the ID Token's claims and RS256 signature, userinfo, a wrong password,
# SSO through the session cookie, key rotation (/__test/rotate) and every /__test/tamper mode.
# Usage: tests/oidc/smoke.sh   (exit 0 = pass; set SMOKE_VERBOSE=1 to print the provider's log;
#        OIDC_ISSUER_PATH=/tenant-a tests/oidc/smoke.sh tests an issuer with a path)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TMP=$(mktemp -d)
CLIENT_ID=tentabo
CLIENT_SECRET=tentabo-secret
REDIRECT_URI=http://127.0.0.1:9/cb
ISSUER_PATH=${OIDC_ISSUER_PATH:-}
PID=
cleanup() {
  local rc=$?
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  if [ "$rc" != 0 ] || [ -n "${SMOKE_VERBOSE:-}" ]; then
    echo "---- provider log ----" >&2; cat "$TMP/server.err" >&2 || true
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# ---- node helpers (JSON, base64url, PKCE, JWT decode/verify) ---------------------------------
cat >"$TMP/h.mjs" <<'EOF'
import * as crypto from 'node:crypto';
const [cmd, ...a] = process.argv.slice(2);
const b64 = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
const out = (v) => process.stdout.write(typeof v === 'string' ? v : JSON.stringify(v, null, 2));
switch (cmd) {
  case 'rand': out(crypto.randomBytes(24).toString('base64url')); break;
  // code_challenge for a code_verifier
  case 's256': out(crypto.createHash('sha256').update(a[0]).digest('base64url')); break;
  case 'urlencode': out(encodeURIComponent(a[0])); break;
  // get <json> <dotted.path>: print a field (strings raw, the rest as JSON)
  case 'get': out(a[1].split('.').reduce((v, k) => v?.[k], JSON.parse(a[0])) ?? ''); break;
  case 'query': out(new URL(a[0]).searchParams.get(a[1]) ?? ''); break;
  case 'header': out(b64(a[0].split('.')[0])); break;
  case 'payload': out(b64(a[0].split('.')[1])); break;
  // verify <jwt> <jwks json>: "valid <kid>" or "invalid: <why>"
  case 'verify': {
    const [h, p, s] = a[0].split('.');
    const header = b64(h);
    const jwk = JSON.parse(a[1]).keys.find((k) => k.kid === header.kid);
    if (header.alg !== 'RS256') { out(`invalid: alg ${header.alg}`); break; }
    if (!jwk) { out(`invalid: kid ${header.kid} not in the JWKS`); break; }
    const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`),
      crypto.createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s, 'base64url'));
    out(ok ? `valid ${header.kid}` : 'invalid: bad signature');
    break;
  }
  default: throw new Error(`unknown helper ${cmd}`);
}
EOF
h() { node "$TMP/h.mjs" "$@"; }

# ---- start the provider -----------------------------------------------------------------------
step "start the provider"
mkfifo "$TMP/ready"
OIDC_PORT=0 OIDC_ISSUER_PATH=$ISSUER_PATH OIDC_CLIENT_ID=$CLIENT_ID OIDC_CLIENT_SECRET=$CLIENT_SECRET OIDC_REDIRECT_URIS=$REDIRECT_URI \
  "$HERE/oidc.sh" >"$TMP/ready" 2>"$TMP/server.err" &
PID=$!
read -r -t 120 word PORT <"$TMP/ready" || fail "no READY line"
[ "$word" = READY ] || fail "unexpected first line: $word $PORT"
BASE="http://127.0.0.1:$PORT"
echo "READY $PORT"

step "discovery and JWKS"
DISCOVERY=$(curl -fsS "$BASE$ISSUER_PATH/.well-known/openid-configuration")
ISSUER=$(h get "$DISCOVERY" issuer)
[ "$ISSUER" = "$BASE$ISSUER_PATH" ] || fail "issuer $ISSUER"
AUTH_EP=$(h get "$DISCOVERY" authorization_endpoint)
TOKEN_EP=$(h get "$DISCOVERY" token_endpoint)
USERINFO_EP=$(h get "$DISCOVERY" userinfo_endpoint)
JWKS_URI=$(h get "$DISCOVERY" jwks_uri)
echo "issuer $ISSUER; auth $AUTH_EP; token $TOKEN_EP; userinfo $USERINFO_EP; jwks $JWKS_URI"
echo "scopes $(h get "$DISCOVERY" scopes_supported)" | tr -d '\n '; echo
echo "claims $(h get "$DISCOVERY" claims_supported)" | tr -d '\n '; echo
JWKS=$(curl -fsS "$JWKS_URI")
KID1=$(h get "$JWKS" keys.0.kid)
echo "jwks kid $KID1 ($(h get "$JWKS" keys.length) key)"
[ "$(curl -fsS "$BASE/__test/health")" = ok ] || fail health

# ---- one login ----------------------------------------------------------------------------------
# walk URL: GET, following redirects by hand with the cookie jar $JAR, stopping at the redirect to
# the relying party (sets CALLBACK) or at a non-redirect answer (sets STATUS, page in $TMP/page).
walk() {
  local url=$1 code location
  CALLBACK=
  for _ in $(seq 10); do
    read -r code location < <(curl -sS -b "$JAR" -c "$JAR" -o "$TMP/page" -w '%{http_code} %{redirect_url}\n' "$url")
    STATUS=$code
    case "$location" in
      "") return 0 ;;
      "$REDIRECT_URI"*) CALLBACK=$location; return 0 ;;
      *) url=$location ;;
    esac
  done
  fail "too many redirects"
}

# login USER PASSWORD [JAR]: full code flow; sets TOKENS (token response JSON), ID_TOKEN, NONCE.
# With an existing JAR (a live session) no login form is expected.
login() {
  local user=$1 password=$2 verifier state action location code
  JAR=${3:-$TMP/jar.$RANDOM}
  verifier=$(h rand)$(h rand)
  state=$(h rand)
  NONCE=$(h rand)
  walk "$AUTH_EP?response_type=code&client_id=$CLIENT_ID&redirect_uri=$(h urlencode "$REDIRECT_URI")&scope=openid%20email%20profile&state=$state&nonce=$NONCE&code_challenge=$(h s256 "$verifier")&code_challenge_method=S256"
  if [ -z "$CALLBACK" ]; then
    [ "$STATUS" = 200 ] || fail "authorization: HTTP $STATUS $(cat "$TMP/page")"
    grep -q 'id="login"' "$TMP/page" && grep -q 'id="password"' "$TMP/page" && grep -q 'Sign in' "$TMP/page" \
      || fail "no login form: $(cat "$TMP/page")"
    action=$(sed -n 's/.*<form method="post" action="\([^"]*\)".*/\1/p' "$TMP/page")
    [ -n "$action" ] || fail "no form action"
    # a wrong password first: the form again, with the error
    code=$(curl -sS -b "$JAR" -c "$JAR" -o "$TMP/page" -w '%{http_code}' \
      --data-urlencode "login=$user" --data-urlencode "password=wrong-$password" "$BASE$action")
    [ "$code" = 200 ] && grep -q 'Invalid username or password' "$TMP/page" && grep -q 'id="login"' "$TMP/page" \
      || fail "wrong password: HTTP $code $(cat "$TMP/page")"
    read -r code location < <(curl -sS -b "$JAR" -c "$JAR" -o /dev/null -w '%{http_code} %{redirect_url}\n' \
      --data-urlencode "login=$user" --data-urlencode "password=$password" "$BASE$action")
    [ "$code" = 303 ] || fail "login POST: HTTP $code"
    walk "$location"   # back to /auth, then the (automatic) consent, then the relying party
  fi
  [ -n "$CALLBACK" ] || fail "no redirect to the client: HTTP $STATUS $(cat "$TMP/page")"
  [ "$(h query "$CALLBACK" state)" = "$state" ] || fail "state mismatch in $CALLBACK"
  code=$(h query "$CALLBACK" code)
  [ -n "$code" ] || fail "no code in $CALLBACK"
  TOKENS=$(curl -fsS -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=authorization_code \
    --data-urlencode "code=$code" --data-urlencode "redirect_uri=$REDIRECT_URI" \
    --data-urlencode "code_verifier=$verifier" "$TOKEN_EP") || fail "token exchange"
  ID_TOKEN=$(h get "$TOKENS" id_token)
  [ -n "$ID_TOKEN" ] || fail "no id_token in $TOKENS"
}
claim() { h get "$(h payload "$ID_TOKEN")" "$1"; }
hdr() { h get "$(h header "$ID_TOKEN")" "$1"; }
verify() { h verify "$ID_TOKEN" "$(curl -fsS "$JWKS_URI")"; }

step "login as alice"
login alice alice-pw
ALICE_JAR=$JAR
echo "id_token header: $(h header "$ID_TOKEN" | tr -d '\n ')"
echo "id_token payload:"; h payload "$ID_TOKEN"; echo
[ "$(claim email)" = alice@partner-a.test ] || fail email
[ "$(claim email_verified)" = true ] || fail email_verified
[ "$(claim groups)" = '[
  "tentabo-partner-a-sales"
]' ] || fail groups
[ "$(claim roles.0)" = Tentabo.PartnerSales ] || fail roles
[ "$(claim oid)" = a11ce000-0000-4000-8000-000000000001 ] || fail oid
[ "$(claim tid)" = 9188040d-6c67-4c5b-b112-36a304b66dad ] || fail tid
[ "$(claim nonce)" = "$NONCE" ] || fail nonce
[ "$(claim iss)" = "$ISSUER" ] || fail iss
[ "$(claim aud)" = "$CLIENT_ID" ] || fail aud
[ "$(claim preferred_username)" = alice@partner-a.test ] || fail preferred_username
[ "$(verify)" = "valid $KID1" ] || fail "signature: $(verify)"
USERINFO=$(curl -fsS -H "Authorization: Bearer $(h get "$TOKENS" access_token)" "$USERINFO_EP")
echo "userinfo: $USERINFO"
[ "$(h get "$USERINFO" email)" = alice@partner-a.test ] && [ "$(h get "$USERINFO" tid)" = 9188040d-6c67-4c5b-b112-36a304b66dad ] \
  || fail userinfo

step "login as amelie (UTF-8 name), victor (unverified email), nobody (no groups)"
login amelie amelie-pw
[ "$(claim name)" = 'Amélie Dupré-Lefèvre' ] && [ "$(claim groups.0)" = tentabo-admins ] || fail "amelie $(h payload "$ID_TOKEN")"
login victor victor-pw
[ "$(claim email_verified)" = false ] || fail "victor $(h payload "$ID_TOKEN")"
login nobody nobody-pw
[ "$(claim groups)" = '[]' ] && [ "$(claim roles)" = '[]' ] || fail "nobody $(h payload "$ID_TOKEN")"

step "rotate the signing key"
KID2=$(h get "$(curl -fsS -X POST "$BASE/__test/rotate")" kid)
JWKS=$(curl -fsS "$JWKS_URI")
echo "new kid $KID2; JWKS kids: $(h get "$JWKS" keys | tr -d '\n ')"
[ "$KID2" != "$KID1" ] && [ "$(h get "$JWKS" keys.0.kid)" = "$KID2" ] && [ "$(h get "$JWKS" keys.length)" = 1 ] \
  || fail "JWKS after rotation: $JWKS"
login alice alice-pw
echo "second login, id_token header: $(h header "$ID_TOKEN" | tr -d '\n ')"
[ "$(hdr kid)" = "$KID2" ] && [ "$(verify)" = "valid $KID2" ] || fail "after rotation: $(verify)"
login alice alice-pw "$ALICE_JAR"
echo "alice's session from before the rotation still signs her in without the form"

step "tamper: alg_none"
[ "$(h get "$(curl -fsS -X POST -H 'Content-Type: application/json' -d '{"mode":"alg_none"}' "$BASE/__test/tamper")" mode)" = alg_none ] \
  || fail "tamper endpoint"
login alice alice-pw
echo "third login, id_token header: $(h header "$ID_TOKEN" | tr -d '\n ')"
[ "$(hdr alg)" = none ] && [ "${ID_TOKEN: -1}" = . ] || fail "alg_none: $ID_TOKEN"
login alice alice-pw
[ "$(hdr alg)" = RS256 ] || fail "tampering did not reset to off"

step "tamper: the other modes (one login each)"
NOW=$(date +%s)
for mode in wrong_aud wrong_nonce expired unknown_kid wrong_iss future_iat off; do
  curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"mode\":\"$mode\"}" "$BASE/__test/tamper"
  login alice alice-pw
  v=$(verify)
  case $mode in
    wrong_aud)   [ "$(claim aud)" = someone-else ] && [ "$v" = "valid $KID2" ] ;;
    wrong_nonce) [ "$(claim nonce)" = not-the-nonce ] && [ "$v" = "valid $KID2" ] ;;
    expired)     [ "$(claim exp)" -lt "$NOW" ] && [ "$(claim iat)" -lt "$(claim exp)" ] && [ "$v" = "valid $KID2" ] ;;
    unknown_kid) [ "$(hdr kid)" = rogue-key ] && [ "$v" = "invalid: kid rogue-key not in the JWKS" ] ;;
    wrong_iss)   [ "$(claim iss)" = http://127.0.0.1:1/evil ] && [ "$v" = "valid $KID2" ] ;;
    future_iat)  [ "$(claim iat)" -gt $((NOW + 3000)) ] && [ "$(claim exp)" -gt $((NOW + 6000)) ] && [ "$v" = "valid $KID2" ] ;;
    off)         [ "$(claim aud)" = "$CLIENT_ID" ] && [ "$(claim nonce)" = "$NONCE" ] && [ "$v" = "valid $KID2" ] ;;
  esac || fail "tamper $mode: $v $(h header "$ID_TOKEN") $(h payload "$ID_TOKEN")"
  echo "$mode: kid $(hdr kid), $v, aud $(claim aud), iss $(claim iss), iat $(claim iat), exp $(claim exp)"
done
[ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST -d '{"mode":"bogus"}' "$BASE/__test/tamper")" = 400 ] \
  || fail "unknown tamper mode accepted"

echo "PASS"
