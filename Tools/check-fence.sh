#!/usr/bin/env bash
# The syscall fence: every system call is wrapped once, in Sources/CapuchinSystem.
# Fails when a Swift file elsewhere in Sources imports Glibc (or Darwin/Musl)
# and is not on the allowlist below, which says why it may.
# (Tests may import Glibc to build fixtures: they are not checked.)
set -euo pipefail
cd "$(dirname "$0")/.."

# path|why. Keep it short: moving a call into CapuchinSystem beats a new line.
allowlist='
'

status=0
while IFS= read -r file; do
  if ! grep -qxF "$file" <(printf '%s\n' "$allowlist" | cut -d'|' -f1); then
    echo "check-fence: $file imports a libc module; call CapuchinSystem instead (or add it to the allowlist in Tools/check-fence.sh with a reason)" >&2
    status=1
  fi
done < <(grep -rlE '^[[:space:]]*(@_exported[[:space:]]+)?import[[:space:]]+(Glibc|Darwin|Musl)\b' Sources --include='*.swift' | grep -v '^Sources/CapuchinSystem/' | sort)

# An allowlisted file that no longer imports libc leaves the list too.
while IFS='|' read -r file why; do
  [ -z "$file" ] && continue
  if [ ! -f "$file" ] || ! grep -qE '^[[:space:]]*import[[:space:]]+(Glibc|Darwin|Musl)\b' "$file"; then
    echo "check-fence: $file is on the allowlist but no longer imports libc: remove it from Tools/check-fence.sh" >&2
    status=1
  fi
done <<< "$allowlist"

[ "$status" -eq 0 ] && echo "check-fence: ok (libc imported only in Sources/CapuchinSystem and $(printf '%s\n' "$allowlist" | grep -c '|') allowlisted files)"
exit "$status"
