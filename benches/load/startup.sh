#!/usr/bin/env bash
# Start-up time of `serve` to its first /healthz answer, on a data directory that already exists
# (issue 10: <= 200 ms), and the idle resident set a second after start (<= 32 MB).
#
#   benches/load/startup.sh [sqlite|postgres] [RUNS]      (defaults: sqlite 5)
set -euo pipefail
ENGINE=${1:-sqlite}
RUNS=${2:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
# shellcheck source=benches/load/common.sh
source "$ROOT/benches/load/common.sh" startup
"$BIN" --data-dir "$WORK" "${DB[@]}" --json sso create --name Start --domain start.example >/dev/null
for run in $(seq 0 "$RUNS"); do
  T0=$(date +%s%N)
  SPCONNECT_LOG=warn taskset -c 0 "$BIN" --data-dir "$WORK" "${DB[@]}" serve --listen "127.0.0.1:$PORT" \
    --public-url "$PUBLIC" >/dev/null 2>>"$WORK/server.log" &
  SERVER=$!
  until curl -skf -o /dev/null "$PUBLIC/healthz"; do sleep 0.005; done
  T1=$(date +%s%N)
  sleep 1
  RSS=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
  # Run 0 creates what a first start creates (TLS certificate, session table): not counted.
  [ "$run" -gt 0 ] && echo "run $run: first /healthz answer after $(((T1 - T0) / 1000000)) ms; idle resident set $RSS kB"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
done
