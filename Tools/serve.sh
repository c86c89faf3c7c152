#!/usr/bin/env bash
# Installs what Capuchin needs, builds it (release, -O) and serves the bundled
# Fixtures/site on http://localhost:8080/ with the file cache on; the admin
# dashboard is on http://127.0.0.1:8081/. Extra arguments go to `capuchin serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Tools/setup.sh
swift build -c release --product capuchin
exec .build/release/capuchin serve --config Fixtures/configs/capuchin.yaml "$@"
