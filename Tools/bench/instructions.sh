#!/usr/bin/env bash
# User-space instructions per keep-alive cache hit, counted by valgrind (callgrind):
# deterministic within ~1% even on a loaded machine, where wall-clock CPU is not.
# Runs N1 and N2 pipelined requests for a 1 KiB (SIZE bytes) cached file (50 in flight on a
# connection) and prints (I(N2) - I(N1)) / (N2 - N1), so start-up cancels.
# TLS=1: the listener is TLS (a throwaway ECDSA P-256 certificate; TLS 1.3,
# TLS_AES_128_GCM_SHA256 by the server's order) and the client sends one request
# at a time on one connection (a keep-alive client's pattern: OpenSSL's record
# buffers are released and taken again per request); N1/N2 default to 500/5500.
#
# usage: Tools/bench/instructions.sh BINARY [EXTRA-HEADER-LINES]
#   e.g. instructions.sh .build/release/capuchin $'Accept-Encoding: gzip, deflate, br'
# Env: N1 (2000), N2 (22000), ONE=1 (plain: one request in flight, as wrk's connections), SIZE (the file's bytes, 1024; 16384 for the medium case), ACCESS_LOG=1 (the combined access log on), KEEP=1 (keep
# the callgrind outputs, for callgrind_annotate), BROWSER=1 (a browser's ten fields
# before the extra lines: User-Agent, Accept, Accept-Language, Accept-Encoding, Referer,
# Cookie, Connection, Upgrade-Insecure-Requests, Sec-Fetch-Dest, If-Modified-Since of a
# date before the file's, so still a 200). Needs valgrind (apt-get install valgrind).
# Valgrind cannot read Swift's DWARF 5: the binary is copied and stripped of debug info first.
set -euo pipefail
bin=$1
extra=${2:-}
if [ "${BROWSER:-0}" = 1 ]; then
  browser=$'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-GB,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\nReferer: http://localhost/index.html\r\nCookie: session=4f1c2a9b8e7d6c5b4a39281716151413; theme=dark\r\nConnection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\nIf-Modified-Since: Sat, 05 Dec 2026 10:00:00 GMT'
  extra=$browser${extra:+$'\r\n'$extra}
fi
tls=${TLS:-0}
if [ "$tls" = 1 ]; then n1=${N1:-500}; n2=${N2:-5500}; else n1=${N1:-2000}; n2=${N2:-22000}; fi
command -v valgrind > /dev/null || { echo "instructions.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
dir=$(mktemp -d /tmp/capuchin-instructions-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp "$bin" "$dir/capuchin" && strip -g "$dir/capuchin"
mkdir "$dir/www"
size=${SIZE:-1024}
head -c $((size * 3 / 4 + 3)) /dev/urandom | base64 -w0 | head -c "$size" > "$dir/www/a.html"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log_line=""
[ "${ACCESS_LOG:-0}" = 1 ] && log_line="  access_log: $dir/access.log"
tls_lines=""
if [ "$tls" = 1 ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/key.pem" \
    -out "$dir/cert.pem" -subj /CN=localhost -days 1 2> /dev/null
  tls_lines="  tls: {cert: $dir/cert.pem, key: $dir/key.pem}
  keepalive_requests: 1000000"
fi
cat > "$dir/config.yaml" <<EOF
server:
  listen: 127.0.0.1
  port: $port
  workers: 2
$tls_lines
sites:
  - root: $dir/www
    default: true
plugins:
  cache: true
cache:
  dir: $dir/cache
logging:
  level: warn
$log_line
EOF

# Instructions (all threads) of a server run that answers `count` requests.
run() {
  local count=$1 out=$dir/cg-$1
  rm -rf "$dir/cache"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$dir/capuchin" serve --config "$dir/config.yaml" > "$dir/server.log" 2>&1 &
  local pid=$!
  local scheme=http
  [ "$tls" = 1 ] && scheme=https
  for _ in $(seq 120); do curl -sk -o /dev/null "$scheme://127.0.0.1:$port/a.html" && break; sleep 0.5; done
  python3 - "$port" "$count" "$extra" "$tls" "${ONE:-0}" <<'PY'
import socket, ssl, sys
port, n, extra, tls, one_at_a_time = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1", sys.argv[5] == "1"
req = ("GET /a.html HTTP/1.1\r\nHost: localhost\r\n" + (extra + "\r\n" if extra else "") + "\r\n").encode()
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
# TLS: one connection, one request in flight; plain: 500 requests a connection, 50 in flight.
per_connection, in_flight = (n, 1) if tls else (500, 1 if one_at_a_time else 50)
done = 0
while done < n:
    s = socket.create_connection(("127.0.0.1", port))
    if tls:
        s = ctx.wrap_socket(s, server_hostname="localhost")
    buf = b""
    for _ in range(per_connection // in_flight):  # under any keep-alive limit
        k = min(in_flight, n - done)
        if k == 0:
            break
        s.sendall(req * k)
        got = 0
        while got < k:
            d = s.recv(1 << 20)
            if not d:
                raise SystemExit("closed after %d" % done)
            buf += d
            while b"\r\n\r\n" in buf:
                i = buf.index(b"\r\n\r\n")
                head = buf[:i].decode("latin-1").lower()
                # A 304 (a validator among the extra lines) has no body.
                cl = int(head.split("content-length:")[1].split("\r\n")[0]) if "content-length:" in head else 0
                if len(buf) < i + 4 + cl:
                    break
                buf = buf[i + 4 + cl:]
                got += 1
        done += k
    s.close()
PY
  kill "$pid"
  wait "$pid" 2> /dev/null || true
  local total=0
  for f in "$out"*; do total=$((total + $(awk '/^totals:/ {print $2}' "$f"))); done
  [ "${KEEP:-0}" = 1 ] && cp "$out"* "${TMPDIR:-/tmp}/"
  echo "$total"
}

a=$(run "$n1")
b=$(run "$n2")
python3 -c "print('%s: %.0f user instructions per request' % ('$(basename "$bin")', ($b - $a) / ($n2 - $n1)))"
# Reference counting: calls of the runtime's retain and release a request (each one
# an atomic operation when the object is on the heap; see docs/ARCHITECTURE.md).
python3 - "$dir/cg-$n1" "$dir/cg-$n2" "$((n2 - n1))" <<'PY'
import glob, re, sys
def calls(prefix):
    counts = {}
    for path in glob.glob(prefix + "*"):
        names, callee = {}, None
        for line in open(path, errors="replace"):
            if line.startswith("cfn="):
                m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line.strip())
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                callee = names.get(m.group(1))
            elif line.startswith("fn="):
                m = re.match(r"fn=\((\d+)\)(?: (.*))?", line.strip())
                if m and m.group(2):
                    names[m.group(1)] = m.group(2)
            elif line.startswith("calls=") and callee:
                counts[callee] = counts.get(callee, 0) + int(line.split()[0][6:])
    return counts
a, b, n = calls(sys.argv[1]), calls(sys.argv[2]), int(sys.argv[3])
names = ["swift_retain", "swift_release", "swift_bridgeObjectRetain", "swift_bridgeObjectRelease"]
print("calls per request: " + ", ".join("%s %.1f" % (k, (b.get(k, 0) - a.get(k, 0)) / n) for k in names))
PY
