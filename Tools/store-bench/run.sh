#!/usr/bin/env bash
# Benchmark of the LMDB cache store (issue 2's figures). Not a test.
set -euo pipefail
cd "$(dirname "$0")/../.."
export SWIFT_BACKTRACE=enable=no
swift build -c release --product store-bench >/dev/null
uptime
.build/release/store-bench "$@"
uptime
