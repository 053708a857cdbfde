#!/usr/bin/env bash
# SCIM load test (issue 10: >= 1,000 user creations/s on one core). The release service is
# pinned to one core (taskset -c 0), wrk to the other (-c 1); it POSTs /Users with a distinct
# userName on every request over HTTPS with $CONNS connections. Loopback only; stops by itself.
#
#   benches/load/scim.sh [sqlite|postgres] [SECONDS]      (defaults: sqlite 10)
#
# Prints requests/s, latency percentiles, the users created and the resident set.
set -euo pipefail
ENGINE=${1:-sqlite}
SECONDS_RUN=${2:-10}
CONNS=${CONNS:-16}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
# shellcheck source=benches/load/common.sh
source "$ROOT/benches/load/common.sh" scimload

"$BIN" --data-dir "$WORK" "${DB[@]}" node set-domains 1 load.example >/dev/null 2>&1
TOKEN=$("$BIN" --data-dir "$WORK" "${DB[@]}" --json scim token 1 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

SPCONNECT_LOG=warn taskset -c 0 "$BIN" --data-dir "$WORK" "${DB[@]}" serve --listen "127.0.0.1:$PORT" \
  --public-url "$PUBLIC" >/dev/null 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 100); do curl -sk "$PUBLIC/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"; }
echo "engine: $ENGINE; resident set before: $(rss) kB"
SCIM_TOKEN=$TOKEN USERS_PATH="/api/rest/scim/v2/1/Users" COUNT=$((5000 * SECONDS_RUN)) \
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECONDS_RUN}s" --timeout 10s --latency -s benches/load/scim.lua "$PUBLIC"
echo "resident set after: $(rss) kB"
USERS=$("$BIN" --data-dir "$WORK" "${DB[@]}" --json users list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "users created: $USERS"
grep -c ERROR "$WORK/server.log" | sed 's/^/server log errors: /' || true
