#!/usr/bin/env bash
# Installs the outside programs the test suite drives, when they are missing.
set -euo pipefail
log() { echo "test-deps: $*" >&2; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
root=$(cd "$(dirname "$0")/.." && pwd)

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# libical's GObject bindings check our .ics invites and feeds (scripts/check_ics.py, scripts/check_feed.py).
for pkg in python3-gi gir1.2-ical-3.0; do
  installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# ical.js, the parser behind many web calendars, checks the same invites and feeds.
if [[ ! -d "$root/testdata/icaljs/node_modules" ]]; then
  command -v npm >/dev/null 2>&1 || { log "npm is missing: install Node.js 18 or later"; exit 1; }
  log "installing ical.js (npm ci in testdata/icaljs)"
  (cd "$root/testdata/icaljs" && npm ci --no-audit --no-fund)
fi
