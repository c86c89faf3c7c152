#!/usr/bin/env bash
# Installs what Capuchin needs to build, serve and test on Debian 12 (as root).
# The Swift toolchain itself (6.x) must already be on PATH.
set -euo pipefail
need_apt=()
for p in liblmdb-dev lmdb-utils libssl-dev openssl zlib1g-dev libbrotli-dev libzstd-dev testssl.sh pkg-config curl strace util-linux slowhttptest python3-pip libjs-chart.js chromium systemd logrotate; do
  dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
py_need=()
for m in pytest h11 httptools prometheus_client websocket brotli zstandard; do
  python3 -c "import $m" >/dev/null 2>&1 || py_need+=("$m")
done
if [ ${#py_need[@]} -gt 0 ]; then
  py_need=("${py_need[@]/websocket/websocket-client}")
  python3 -m pip install -q "${py_need[@]}" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "${py_need[@]}"
fi
