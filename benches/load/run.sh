#!/usr/bin/env bash
# End-to-end ACS load test (issue 9 and 10 figures). The release service is pinned to one core
# (taskset -c 0), wrk to the other (-c 1); it posts distinct pre-signed IdP-initiated responses
# over HTTPS with 16 connections, so every request is a real first login (signature check,
# JIT user, login record, continuation) and never a replay. Loopback only; stops by itself.
#
#   benches/load/run.sh [sqlite|postgres] [SECONDS]      (defaults: sqlite 10)
#
# PostgreSQL: the throwaway server of .ci/postgres (not pinned: it shares the cores).
# Prints requests/s, latency percentiles, refusals, the logins committed and the service's
# resident set before and after.
set -euo pipefail
ENGINE=${1:-sqlite}
SECONDS_RUN=${2:-10}
CONNS=${CONNS:-16}
COUNT=${COUNT:-$((4000 * SECONDS_RUN))}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
# shellcheck source=benches/load/common.sh
source "$ROOT/benches/load/common.sh" load

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/idp.key" -out "$WORK/idp.crt" -days 2 \
  -subj /CN=load-idp 2>/dev/null
CERT=$(grep -v -- '-----' "$WORK/idp.crt" | tr -d '\n')
IDP=https://idp.load.example/saml2/idp
sed -e "s#{{ENTITY_ID}}#$IDP#" -e "s#{{SSO_URL}}#https://idp.load.example/saml2/sso#" \
  -e "s#{{CERT}}#$CERT#" -e "s#{{CERT2}}#$CERT#" tests/fixtures/idp/jumpcloud.xml >"$WORK/idp.xml"
SSO=$("$BIN" --data-dir "$WORK" "${DB[@]}" --json sso create --name Load --domain load.example |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["sso_id"])')
"$BIN" --data-dir "$WORK" "${DB[@]}" idp import "$SSO" "$WORK/idp.xml" >/dev/null

echo "pre-signing $COUNT responses (lxml + cryptography)..." >&2
python3 benches/load/presign.py "$WORK/idp.key" "$WORK/idp.crt" "$IDP" "$PUBLIC/api/rest/sso/saml/$SSO" \
  "$PUBLIC/api/rest/sso/saml/sso/$SSO" load.example "$COUNT" "$WORK/bodies.txt"

SPCONNECT_LOG=warn taskset -c 0 "$BIN" --data-dir "$WORK" "${DB[@]}" serve --listen "127.0.0.1:$PORT" \
  --public-url "$PUBLIC" >/dev/null 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 100); do curl -sk "$PUBLIC/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"; }
echo "engine: $ENGINE; resident set before: $(rss) kB"
BODIES="$WORK/bodies.txt" ACS_PATH="/api/rest/sso/saml/sso/$SSO" WRK_THREADS=1 \
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECONDS_RUN}s" --timeout 10s --latency -s benches/load/acs.lua "$PUBLIC"
echo "resident set after: $(rss) kB"
USERS=$("$BIN" --data-dir "$WORK" "${DB[@]}" --json users list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "logins committed (JIT users created): $USERS"
grep -c ERROR "$WORK/server.log" | sed 's/^/server log errors: /' || true
