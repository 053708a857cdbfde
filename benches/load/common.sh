# Shared set-up of the load scripts (sourced, not run): the release binary ($BIN, or a build of
# this tree), a throwaway work directory removed on exit with the server ($SERVER) stopped, the
# database arguments for $ENGINE (sqlite, or a fresh database on .ci/postgres), and a free
# loopback port with its public URL. Expects ROOT, ENGINE and a name prefix in $1.
# BIN=path runs another build (e.g. main's, for a before/after figure).
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked --bin spconnect >&2
  BIN=$ROOT/target/release/spconnect
fi
WORK=$(mktemp -d "/tmp/spconnect-$1.XXXXXX")
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
DB=()
if [ "$ENGINE" = postgres ]; then
  ADMIN=$("$ROOT/.ci/postgres")
  NAME="$1_$(date +%s)_$$"
  NAME=${NAME//-/_}
  psql -X -q "$ADMIN" -c "CREATE DATABASE $NAME"
  DB=(--database-url "${ADMIN%/postgres}/$NAME")
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PUBLIC="https://127.0.0.1:$PORT"
