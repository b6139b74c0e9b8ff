#!/usr/bin/env bash
# Smoke test of tests/ldap/slapd.sh with ldap-utils (no cargo): starts instances on free
# loopback ports in temp dirs and checks the ACLs, memberOf, binds, StartTLS/LDAPS, stop,
# parallel starts, and (when run as root) a start as an unprivileged user.
#   tests/ldap/smoke.sh          # prints each check, the start timings, and ALL OK
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S="$HERE/slapd.sh"
B="dc=tentabo,dc=test"
ADMIN="cn=admin,$B"
SVC="cn=tentabo-svc,ou=services,$B"
P="ou=people,$B"
G="ou=groups,$B"
TMP=$(mktemp -d /tmp/tentabo-ldap-smoke.XXXXXX)
chmod 755 "$TMP"
DIRS=()
cleanup() {
  local d
  for d in "${DIRS[@]}"; do "$S" stop "$d" >/dev/null 2>&1 || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
# Two free loopback ports (the kernel picks them; tiny race, fine for a smoke test).
free_ports() {
  python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])'
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# rc of a command, without tripping set -e.
rc() { local r=0; "$@" >/dev/null 2>&1 || r=$?; echo "$r"; }

start() { # <dir> <port> <sport> [runner...]: starts, prints the timing
  local d="$1" p="$2" sp="$3" t0 out
  shift 3
  t0=$(now_ms)
  out=$("$@" "$S" start "$d" "$p" "$sp") || fail "start $d: $out"
  [ "$out" = READY ] || fail "start $d printed: $out"
  echo "     start $d ($p/$sp): $(($(now_ms) - t0)) ms"
}

# ---- one instance, all the checks ------------------------------------------------------
D="$TMP/one"
read -r PORT SPORT < <(free_ports)
DIRS+=("$D")
start "$D" "$PORT" "$SPORT"
U="ldap://127.0.0.1:$PORT"
unset LDAPTLS_CACERT LDAPTLS_REQCERT # set per command below

# (a) anonymous sees nothing: the base itself is not disclosed (noSuchObject, 32).
r=0; out=$(ldapsearch -x -LLL -H "$U" -b "$P" '(objectClass=*)' dn 2>&1) || r=$?
{ [ "$r" = 32 ] || [ "$r" = 0 ]; } && [ -z "$(grep '^dn:' <<<"$out")" ] || fail "(a) anonymous: rc=$r $out"
r=0; out=$(ldapsearch -x -LLL -H "$U" -b "$B" '(uid=*)' dn 2>&1) || r=$?
[ -z "$(grep '^dn:' <<<"$out")" ] || fail "(a) anonymous subtree: $out"
ok "(a) anonymous search of $P: rc=$r, no entries"

# (b) service account: finds jdupont with memberOf (operational: must be asked for).
out=$(ldapsearch -x -LLL -o ldif-wrap=no -H "$U" -D "$SVC" -w svc-secret -b "$P" '(uid=jdupont)' '*' memberOf)
grep -qx "dn: uid=jdupont,$P" <<<"$out" || fail "(b) dn: $out"
grep -qx "memberOf: cn=partner-a-sales,$G" <<<"$out" || fail "(b) memberOf sales: $out"
grep -qx "memberOf: cn=partner-a-admins,$G" <<<"$out" || fail "(b) memberOf admins: $out"
[ "$(grep -c '^memberOf:' <<<"$out")" = 2 ] || fail "(b) memberOf count: $out"
grep -qx "telephoneNumber: +33 1 42 68 53 00" <<<"$out" || fail "(b) phone: $out"
grep -qi '^userPassword' <<<"$out" && fail "(b) userPassword readable by the service account"
out2=$(ldapsearch -x -LLL -H "$U" -D "$SVC" -w svc-secret -b "$P" '(uid=jdupont)' '*')
grep -q '^memberOf' <<<"$out2" && fail "(b) memberOf returned without asking"
ok "(b) service bind: uid=jdupont,$P memberOf partner-a-sales + partner-a-admins; no userPassword; memberOf only on request"
n=$(ldapsearch -x -LLL -H "$U" -D "$SVC" -w svc-secret -b "$G" '(objectClass=groupOfNames)' cn | grep -c '^cn:')
[ "$n" = 5 ] || fail "(b) 5 groups expected, got $n"
ok "(b) service account sees the 5 groups"

# (c) user binds.
out=$(ldapwhoami -x -H "$U" -D "uid=jdupont,$P" -w jdupont-pw)
[ "$out" = "dn:uid=jdupont,$P" ] || fail "(c) whoami: $out"
r=$(rc ldapwhoami -x -H "$U" -D "uid=jdupont,$P" -w wrong)
[ "$r" = 49 ] || fail "(c) wrong password rc=$r"
ok "(c) ldapwhoami jdupont/jdupont-pw -> $out; wrong password -> rc 49"
# A user reads itself (memberOf included) but nobody else.
out=$(ldapsearch -x -LLL -H "$U" -D "uid=jdupont,$P" -w jdupont-pw -b "uid=jdupont,$P" -s base memberOf)
grep -q "^memberOf: cn=partner-a-sales" <<<"$out" || fail "(c) self read: $out"
out=$(ldapsearch -x -LLL -H "$U" -D "uid=jdupont,$P" -w jdupont-pw -b "$P" '(uid=mmartin)' dn 2>&1 || true)
grep -q '^dn:' <<<"$out" && fail "(c) jdupont sees mmartin: $out"
ok "(c) a user reads its own entry (memberOf too), not the others"

# (d) the tricky user.
out=$(ldapsearch -x -LLL -o ldif-wrap=no -H "$U" -D "$SVC" -w svc-secret -b "$P" '(uid=o\27brien)' cn memberOf)
grep -qx "dn: uid=o'brien,$P" <<<"$out" || fail "(d) search: $out"
cn=$(sed -n 's/^cn:: //p' <<<"$out" | base64 -d)
[ "$cn" = "Seán O'Brien, Jr. (Sales) *" ] || fail "(d) cn: $cn"
grep -qx "memberOf: cn=partner-a-sales,$G" <<<"$out" || fail "(d) memberOf: $out"
out=$(ldapwhoami -x -H "$U" -D "uid=o'brien,$P" -w tricky-pw)
[ "$out" = "dn:uid=o'brien,$P" ] || fail "(d) whoami: $out"
ok "(d) (uid=o\\27brien) -> uid=o'brien,$P, cn '$cn', binds with tricky-pw"

# (e) TLS: StartTLS on the plain port and LDAPS, with our CA; without it, refused.
CA="$D/tls/ca.pem"
out=$(LDAPTLS_CACERT=$CA ldapwhoami -x -ZZ -H "$U" -D "uid=jdupont,$P" -w jdupont-pw)
[ "$out" = "dn:uid=jdupont,$P" ] || fail "(e) StartTLS: $out"
out=$(LDAPTLS_CACERT=$CA ldapwhoami -x -H "ldaps://127.0.0.1:$SPORT" -D "uid=jdupont,$P" -w jdupont-pw)
[ "$out" = "dn:uid=jdupont,$P" ] || fail "(e) LDAPS: $out"
out=$(LDAPTLS_CACERT=$CA ldapwhoami -x -ZZ -H "ldap://localhost:$PORT" -D "uid=jdupont,$P" -w jdupont-pw)
[ "$out" = "dn:uid=jdupont,$P" ] || fail "(e) StartTLS to localhost: $out"
r1=$(rc ldapwhoami -x -ZZ -H "$U" -D "uid=jdupont,$P" -w jdupont-pw)
r2=$(rc ldapwhoami -x -H "ldaps://127.0.0.1:$SPORT" -D "uid=jdupont,$P" -w jdupont-pw)
{ [ "$r1" != 0 ] && [ "$r2" != 0 ]; } || fail "(e) TLS without the CA succeeded ($r1/$r2)"
ok "(e) StartTLS (-ZZ) and ldaps://127.0.0.1:$SPORT with LDAPTLS_CACERT=$CA; without it rc $r1 / $r2"
out=$(openssl s_client -connect "127.0.0.1:$SPORT" -CAfile "$CA" -verify_ip 127.0.0.1 -verify_return_error </dev/null 2>&1) ||
  fail "(e) openssl verify: $out"
grep -q 'Verify return code: 0 (ok)' <<<"$out" || fail "(e) openssl verify: $out"
ok "(e) openssl s_client verifies the LDAPS certificate for IP 127.0.0.1"

# Deleting leaving (as admin): refint removes her from partner-a-sales.
ldapdelete -x -H "$U" -D "$ADMIN" -w admin-secret "uid=leaving,$P"
out=$(ldapsearch -x -LLL -H "$U" -D "$SVC" -w svc-secret -b "cn=partner-a-sales,$G" -s base member)
grep -q leaving <<<"$out" && fail "refint: $out"
[ "$(grep -c '^member:' <<<"$out")" = 2 ] || fail "refint: $out"
ok "ldapdelete uid=leaving (admin): partner-a-sales keeps 2 members"

# (f) stop: the port no longer answers.
"$S" stop "$D"
r=$(rc ldapsearch -x -o nettimeout=2 -H "$U" -b "" -s base)
[ "$r" = 255 ] || fail "(f) still answering after stop (rc=$r)"
[ ! -e "$D/slapd.pid" ] || fail "(f) pid file left"
ok "(f) stop: $U -> rc $r (can't contact)"

# ---- two instances started at once -----------------------------------------------------
read -r P1 S1 < <(free_ports)
read -r P2 S2 < <(free_ports)
DIRS+=("$TMP/par1" "$TMP/par2")
start "$TMP/par1" "$P1" "$S1" & j1=$!
start "$TMP/par2" "$P2" "$S2" & j2=$!
wait "$j1" || fail "parallel start 1"
wait "$j2" || fail "parallel start 2"
for x in "$P1:$TMP/par1" "$P2:$TMP/par2"; do
  p=${x%%:*} d=${x#*:}
  out=$(LDAPTLS_CACERT=$d/tls/ca.pem ldapwhoami -x -ZZ -H "ldap://127.0.0.1:$p" -D "uid=mmartin,$P" -w mmartin-pw)
  [ "$out" = "dn:uid=mmartin,$P" ] || fail "parallel $p: $out"
done
# Each has its own CA: the other's is refused.
r=$(LDAPTLS_CACERT=$TMP/par1/tls/ca.pem rc ldapwhoami -x -ZZ -H "ldap://127.0.0.1:$P2")
[ "$r" != 0 ] || fail "parallel: CA of par1 accepted by par2"
# A change in one is not seen in the other.
ldapdelete -x -H "ldap://127.0.0.1:$P1" -D "$ADMIN" -w admin-secret "uid=nogroup,$P"
[ "$(rc ldapwhoami -x -H "ldap://127.0.0.1:$P2" -D "uid=nogroup,$P" -w nogroup-pw)" = 0 ] || fail "parallel: shared data"
"$S" stop "$TMP/par1" & "$S" stop "$TMP/par2" & wait
ok "two instances in parallel ($P1/$S1, $P2/$S2): independent data and CAs, both stopped"

# ---- as an unprivileged user (when root) -----------------------------------------------
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
  U_DIR="$TMP/nobody"
  mkdir -p "$U_DIR"
  chown nobody "$U_DIR"
  read -r P3 S3 < <(free_ports)
  DIRS+=("$U_DIR/inst")
  start "$U_DIR/inst" "$P3" "$S3" runuser -u nobody --
  [ "$(ps -o user= -p "$(cat "$U_DIR/inst/slapd.pid")")" = nobody ] || fail "not running as nobody"
  out=$(LDAPTLS_CACERT=$U_DIR/inst/tls/ca.pem ldapwhoami -x -H "ldaps://127.0.0.1:$S3" -D "uid=jdupont,$P" -w jdupont-pw)
  [ "$out" = "dn:uid=jdupont,$P" ] || fail "nobody: $out"
  runuser -u nobody -- "$S" stop "$U_DIR/inst"
  ok "started, used and stopped as user nobody"
fi

echo "ALL OK"
