#!/usr/bin/env bash
# Runs the public HTTP caching test suite (../shared/cache-tests, the suite behind
# cache-tests.fyi) against `capuchin proxy` with its DEFAULT settings, and prints our
# score beside the published results of nginx, Squid, ATS, httpd, Varnish, Caddy, HAProxy.
# Usage: Tools/conformance/cache-tests.sh [--fail-list]
#   CAPUCHIN_BIN (default .build/debug/capuchin), CACHE_TESTS (default ../shared/cache-tests)
#   CACHE_TESTS_ID=test-id runs one test with its requests and responses shown.
# Exit status: 0 when the suite ran (whatever the score; with CACHE_TESTS_GATE=1, only when
# no required test fails and the optimal passes beat every published reverse proxy), 0 with
# a "did not run" line when the suite or node is absent, 1 when the run itself broke.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=${CACHE_TESTS:-$ROOT/../shared/cache-tests}
BIN=${CAPUCHIN_BIN:-$ROOT/.build/debug/capuchin}
if [ ! -f "$SUITE/test-engine/cli.mjs" ]; then
  echo "cache-tests: did not run ($SUITE is absent)"; exit 0
fi
if ! command -v node >/dev/null; then
  echo "cache-tests: did not run (node is not installed)"; exit 0
fi
[ -x "$BIN" ] || { echo "cache-tests: $BIN is not built" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

origin=$(free_port); proxy=$(free_port)
# The suite's server keeps its state per test in memory; it must not be shared.
(cd "$SUITE" && npm_config_port=$origin npm_config_protocol=http npm_config_pidfile="$work/origin.pid" \
  exec node test-engine/server/server.mjs) > "$work/origin.log" 2>&1 &
pids+=($!)
"$BIN" proxy --port "$proxy" --listen 127.0.0.1 --to "127.0.0.1:$origin" --cache-dir "$work/cache" ${PROXY_ARGS:-} \
  > "$work/proxy.log" 2>&1 &
pids+=($!)
wait_port "$origin" && wait_port "$proxy" || { echo "cache-tests: servers did not start"; cat "$work"/*.log; exit 1; }

id=${CACHE_TESTS_ID:-}
if [ -n "$id" ]; then
  (cd "$SUITE" && npm_config_base="http://127.0.0.1:$proxy" npm_config_id="$id" node --no-warnings test-engine/cli.mjs)
  exit 0
fi
if ! (cd "$SUITE" && npm_config_base="http://127.0.0.1:$proxy" npm_config_id= npm_package_config_id= \
      timeout 600 node --no-warnings test-engine/cli.mjs) > "$work/results.json" 2> "$work/cli.err"; then
  echo "cache-tests: the suite's client failed"; tail -20 "$work/cli.err"; exit 1
fi
out=${CACHE_TESTS_RESULTS:-}
[ -n "$out" ] && cp "$work/results.json" "$out"
# The four interim (1xx) tests import undici and use Agent.compose (undici >= 6);
# Debian 12's node-undici is 5.15. Without it they are listed as not run.
notrun=()
(cd "$SUITE" && node -e "import('undici').then(u => process.exit(typeof new u.Agent().compose === 'function' ? 0 : 1), () => process.exit(1))") 2>/dev/null \
  || notrun=(--not-run interim-)
node "$ROOT/Tools/conformance/score.mjs" "$SUITE" "$work/results.json" ${1:+"$1"} "${notrun[@]}"
status=$?
echo "proxy log lines about failed backend exchanges: $(grep -c "no live backend\|closed the connection" "$work/proxy.log")"
exit $status
