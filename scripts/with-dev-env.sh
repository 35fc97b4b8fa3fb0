#!/usr/bin/env bash
# Runs a command with the local database environment from dev-postgres.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
env_lines=$("$here/dev-postgres.sh")
while IFS= read -r line; do
  [[ -n "$line" ]] && export "$line"
done <<<"$env_lines"
exec "$@"
