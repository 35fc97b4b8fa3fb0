#!/usr/bin/env bash
# Runs a command with stripe-mock (Stripe's API mock, pinned) listening on a
# free local port, exported as STRIPE_MOCK_URL; stops it afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=v0.203.0
bin="$root/.dev/bin/stripe-mock"
log() { echo "stripe-mock: $*" >&2; }
if [[ ! -x "$bin" ]] || [[ "$(cat "$bin.version" 2>/dev/null)" != "$version" ]]; then
  log "installing github.com/stripe/stripe-mock@$version"
  mkdir -p "$root/.dev/bin"
  GOBIN="$root/.dev/bin" go install "github.com/stripe/stripe-mock@$version"
  echo "$version" > "$bin.version"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# HTTPS on a port of its own choosing: its default (12112) may be taken.
"$bin" -http-addr "127.0.0.1:$port" -https-addr "127.0.0.1:0" >"$root/.dev/stripe-mock.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
ready=""
for _ in $(seq 1 150); do
  if curl -fs -o /dev/null -u sk_test_123: "http://127.0.0.1:$port/v1/customers"; then
    ready=1
    break
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$ready" ]]; then
  log "did not start; its log:"
  cat "$root/.dev/stripe-mock.log" >&2
  exit 1
fi
export STRIPE_MOCK_URL="http://127.0.0.1:$port"
"$@"
