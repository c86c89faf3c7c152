#!/usr/bin/env bash
# Installs Capuchin as a service: release binaries, an example configuration,
# the systemd unit and a logrotate snippet (see README, "Running as a service").
#
#   bash Tools/install.sh                 # build (release) and install under /usr/local
#   bash Tools/install.sh --uninstall     # remove what was installed; cache and logs stay
#   bash Tools/install.sh --deb           # build artifacts/capuchin_VERSION_ARCH.deb instead
#
# Options: --prefix DIR (default /usr/local), --sysconfdir DIR (/etc),
# --statedir DIR (/var/lib/capuchin), --logdir DIR (/var/log/capuchin),
# --wwwdir DIR (/var/www/html), --unitdir DIR (/etc/systemd/system),
# --logrotatedir DIR (/etc/logrotate.d), --user NAME (capuchin),
# --no-user (do not create the user), --binaries DIR (install these
# capuchin/cachedump instead of building), --destdir DIR (stage everything
# under DIR, as for a package: no user, no systemctl).
#
# Re-running upgrades in place. An existing capuchin.yaml is never replaced:
# the new example goes beside it as capuchin.yaml.example.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

prefix=/usr/local sysconfdir=/etc statedir=/var/lib/capuchin logdir=/var/log/capuchin
wwwdir=/var/www/html unitdir=/etc/systemd/system logrotatedir=/etc/logrotate.d
user=capuchin create_user=1 binaries="" destdir="" action=install
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift ;;
    --sysconfdir) sysconfdir=$2; shift ;;
    --statedir) statedir=$2; shift ;;
    --logdir) logdir=$2; shift ;;
    --wwwdir) wwwdir=$2; shift ;;
    --unitdir) unitdir=$2; shift ;;
    --logrotatedir) logrotatedir=$2; shift ;;
    --user) user=$2; shift ;;
    --no-user) create_user=0 ;;
    --binaries) binaries=$2; shift ;;
    --destdir) destdir=$2; create_user=0; shift ;;
    --uninstall) action=uninstall ;;
    --deb) action=deb ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

bindir=$prefix/bin
confdir=$sysconfdir/capuchin
config=$confdir/capuchin.yaml
manifest=$prefix/share/capuchin/installed-files
# LimitNOFILE: server.max_connections (the installed config's, else the
# example's 10000) + 1024 for files, the store and spares, rounded up to 1024.
max_connections=10000
if [ -f "$destdir$config" ]; then
  n=$(sed -n 's/^[[:space:]]*max_connections:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$destdir$config" | head -n 1)
  [ -n "$n" ] && max_connections=$n
fi
limit_nofile=$(( (max_connections + 1024 + 1023) / 1024 * 1024 ))
[ "$limit_nofile" -ge 16384 ] || limit_nofile=16384

# Fills the @...@ placeholders of a template. The group is the user's primary
# group (nobody's is nogroup), or one named as the user when it does not exist yet.
render() {
  local group
  group=$(id -gn "$user" 2>/dev/null || echo "$user")
  sed -e "s|@BINDIR@|$bindir|g" -e "s|@CONFIG@|$config|g" -e "s|@STATEDIR@|$statedir|g" \
      -e "s|@LOGDIR@|$logdir|g" -e "s|@WWWDIR@|$wwwdir|g" -e "s|@USER@|$user|g" -e "s|@GROUP@|$group|g" \
      -e "s|@LIMIT_NOFILE@|$limit_nofile|g" "$1"
}

# Installs one file (mode $3) from $1 at $2 under the destdir and records it.
put() {
  install -D -m "$3" "$1" "$destdir$2"
  echo "$2" >> "$destdir$manifest.new"
}

systemd_running() { [ -z "$destdir" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

build_binaries() {
  if [ -n "$binaries" ]; then echo "$binaries"; return; fi
  # Static Swift runtime: the installed binary needs only glibc and liblmdb.
  swift build -c release --static-swift-stdlib --product capuchin >&2
  swift build -c release --static-swift-stdlib --product cachedump >&2
  swift build -c release --show-bin-path
}

install_files() {
  local bins tmp
  bins=$(build_binaries)
  tmp=$(mktemp -d)
  mkdir -p "$destdir$prefix/share/capuchin"
  : > "$destdir$manifest.new"
  put "$bins/capuchin" "$bindir/capuchin" 0755
  put "$bins/cachedump" "$bindir/cachedump" 0755
  render Tools/service/capuchin.service.in > "$tmp/capuchin.service"
  put "$tmp/capuchin.service" "$unitdir/capuchin.service" 0644
  render Tools/service/capuchin.logrotate.in > "$tmp/capuchin.logrotate"
  put "$tmp/capuchin.logrotate" "$logrotatedir/capuchin" 0644
  render Tools/service/capuchin.yaml.in > "$tmp/capuchin.yaml"
  put "$tmp/capuchin.yaml" "$config.example" 0644
  put README.md "$prefix/share/doc/capuchin/README.md" 0644
  put docs/CONFIG.md "$prefix/share/doc/capuchin/CONFIG.md" 0644
  if [ -e "$destdir$config" ]; then
    if cmp -s "$destdir$config" "$tmp/capuchin.yaml"; then :; else
      echo "kept your $config (the new example is $config.example)"
    fi
  else
    install -D -m 0644 "$tmp/capuchin.yaml" "$destdir$config"
  fi
  mv "$destdir$manifest.new" "$destdir$manifest"
  rm -rf "$tmp"

  if [ "$create_user" = 1 ] && ! id "$user" >/dev/null 2>&1; then
    useradd --system --home-dir "$statedir" --no-create-home --shell /usr/sbin/nologin "$user"
    echo "created system user $user"
  fi
  mkdir -p "$destdir$statedir" "$destdir$logdir" "$destdir$wwwdir"
  if id "$user" >/dev/null 2>&1 && [ -z "$destdir" ] && [ "$(id -u)" = 0 ]; then
    chown "$user:" "$statedir" "$logdir"
    chmod 0750 "$statedir" "$logdir"
  fi
  if [ -z "$(ls -A "$destdir$wwwdir")" ]; then
    printf '<h1>Capuchin is running</h1>\n' > "$destdir$wwwdir/index.html"
  fi
  if systemd_running; then
    systemctl daemon-reload
    # An upgrade: a running server restarts on the new binary (SIGTERM drains it first).
    systemctl try-restart capuchin.service || true
    echo "installed. Start with: systemctl enable --now capuchin"
  else
    echo "installed under ${destdir:-/}: $bindir/capuchin, $config, $unitdir/capuchin.service"
  fi
}

uninstall_files() {
  local m="$destdir$manifest"
  [ -f "$m" ] || { echo "install.sh: nothing installed here ($m missing)" >&2; exit 1; }
  if systemd_running; then systemctl disable --now capuchin.service >/dev/null 2>&1 || true; fi
  while read -r f; do rm -f "$destdir$f"; done < "$m"
  # The configuration goes too when it is still the example; an edited one stays.
  if [ -f "$destdir$config" ] && cmp -s "$destdir$config" <(render Tools/service/capuchin.yaml.in); then
    rm -f "$destdir$config"
  elif [ -f "$destdir$config" ]; then
    echo "kept your edited $config"
  fi
  rm -f "$m"
  rmdir "$destdir$prefix/share/capuchin" "$destdir$prefix/share/doc/capuchin" "$destdir$confdir" 2>/dev/null || true
  if systemd_running; then systemctl daemon-reload; fi
  echo "uninstalled; the cache ($statedir) and the logs ($logdir) were left in place"
}

build_deb() {
  command -v dpkg-deb >/dev/null || { echo "install.sh: dpkg-deb not found" >&2; exit 1; }
  local stage version arch out
  stage=$(mktemp -d)
  prefix=/usr bindir=/usr/bin manifest=/usr/share/capuchin/installed-files
  destdir=$stage create_user=0
  install_files >/dev/null
  rm -f "$stage$config"                       # the package ships the example as the conffile
  install -m 0644 "$stage$config.example" "$stage$config"
  rm -rf "$stage$statedir" "$stage$logdir" "$stage$wwwdir"
  version=$(git describe --tags --always 2>/dev/null | sed 's/^v//; s/[^0-9A-Za-z.+~]/./g')
  case "$version" in [0-9]*) ;; *) version="0.0~git$version" ;; esac
  arch=$(dpkg --print-architecture)
  mkdir -p "$stage/DEBIAN"
  cat > "$stage/DEBIAN/control" <<CONTROL
Package: capuchin
Version: $version
Architecture: $arch
Maintainer: Capuchin developers <capuchin@localhost>
Depends: liblmdb0, libstdc++6, libgcc-s1, adduser
Section: httpd
Priority: optional
Description: HTTP/1.1 server with a file cache that survives restarts
 Capuchin serves static files and proxies, caching in LMDB.
CONTROL
  echo "$config" > "$stage/DEBIAN/conffiles"
  cat > "$stage/DEBIAN/postinst" <<POSTINST
#!/bin/sh
set -e
if [ "\$1" = configure ]; then
  id $user >/dev/null 2>&1 || adduser --system --group --home $statedir --no-create-home $user
  mkdir -p $statedir $logdir $wwwdir
  chown $user: $statedir $logdir
  chmod 0750 $statedir $logdir
  [ -n "\$(ls -A $wwwdir)" ] || echo '<h1>Capuchin is running</h1>' > $wwwdir/index.html
  if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi
POSTINST
  cat > "$stage/DEBIAN/prerm" <<PRERM
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "\$1" = remove ]; then systemctl stop capuchin.service || true; fi
PRERM
  chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm"
  mkdir -p artifacts
  out="artifacts/capuchin_${version}_${arch}.deb"
  # gzip: quick to build; the binaries dominate the size either way.
  dpkg-deb --root-owner-group -Zgzip --build "$stage" "$out" >/dev/null
  rm -rf "$stage"
  echo "$out"
}

case "$action" in
  install) install_files ;;
  uninstall) uninstall_files ;;
  deb) build_deb ;;
esac
