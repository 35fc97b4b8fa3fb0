#!/usr/bin/env bash
# Brings up a local PostgreSQL for development and tests and prints the
# environment the Makefile needs (DATABASE_URL, TEST_DATABASE_URL, PG_BINDIR).
# With DATABASE_URL already set it installs and starts nothing.
# Idempotent: safe to run any number of times.
set -euo pipefail

log() { echo "dev-postgres: $*" >&2; }

if [[ -n "${DATABASE_URL:-}" ]]; then
  log "DATABASE_URL is set; using it as is"
  echo "DATABASE_URL=${DATABASE_URL}"
  echo "TEST_DATABASE_URL=${TEST_DATABASE_URL:-$DATABASE_URL}"
  bindir=$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  echo "PG_BINDIR=${bindir}"
  exit 0
fi

APP_ROLE=${PG_APP_ROLE:-consultd}
APP_PASSWORD=${PG_APP_PASSWORD:-consultd-dev-password}
APP_DB=${PG_APP_DB:-consultd}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "PostgreSQL is not installed; installing Debian's postgresql"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >&2
fi

# Prefer a running cluster, then any cluster whose server is installed; only
# without either create one, for the newest installed server. (A client-only
# package also makes a /usr/lib/postgresql/<version> folder, without a server.)
has_server() { [[ -x "/usr/lib/postgresql/$1/bin/postgres" ]]; }
cluster_line=$(pg_lsclusters --no-header 2>/dev/null | awk '$4 ~ /^online/ {print; exit}')
if [[ -z "$cluster_line" ]]; then
  while read -r line; do
    if [[ -n "$line" ]] && has_server "$(awk '{print $1}' <<<"$line")"; then cluster_line=$line; break; fi
  done < <(pg_lsclusters --no-header 2>/dev/null)
fi
if [[ -z "$cluster_line" ]]; then
  version=$(for v in $(ls /usr/lib/postgresql); do has_server "$v" && echo "$v"; done | sort -V | tail -n1)
  log "creating cluster ${version}/main"
  as_root pg_createcluster "$version" main >&2
  cluster_line=$(pg_lsclusters --no-header | awk -v v="$version" '$1==v && $2=="main" {print; exit}')
fi
version=$(awk '{print $1}' <<<"$cluster_line")
bindir=/usr/lib/postgresql/${version}/bin
cluster=$(awk '{print $2}' <<<"$cluster_line")
port=$(awk '{print $3}' <<<"$cluster_line")
status=$(awk '{print $4}' <<<"$cluster_line")

if [[ "$status" != online* ]]; then
  log "starting cluster ${version}/${cluster} on port ${port}"
  # pg_ctlcluster drops root privileges to the cluster owner (postgres).
  as_root pg_ctlcluster "$version" "$cluster" start >&2
fi

for _ in $(seq 1 50); do
  "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" && break
  sleep 0.2
done
"$bindir/pg_isready" -h 127.0.0.1 -p "$port" >&2

psql_admin() {
  as_root runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" "$@"
}

# The app role may create databases so the test suite can clone one per test.
psql_admin -d postgres >&2 <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
    CREATE ROLE ${APP_ROLE} LOGIN CREATEDB PASSWORD '${APP_PASSWORD}';
  ELSE
    ALTER ROLE ${APP_ROLE} LOGIN CREATEDB PASSWORD '${APP_PASSWORD}';
  END IF;
END
\$\$;
SET client_min_messages = warning;
-- Dropping a test database WITH (FORCE) may have to stop an autovacuum worker.
GRANT pg_signal_backend TO ${APP_ROLE};
SQL
if ! psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '${APP_DB}'" | grep -q 1; then
  log "creating database ${APP_DB}"
  psql_admin -d postgres -c "CREATE DATABASE ${APP_DB} OWNER ${APP_ROLE}" >&2
fi

base="postgres://${APP_ROLE}:${APP_PASSWORD}@127.0.0.1:${port}"
echo "DATABASE_URL=${base}/${APP_DB}?sslmode=disable"
echo "TEST_DATABASE_URL=${base}/postgres?sslmode=disable"
echo "PG_BINDIR=${bindir}"
