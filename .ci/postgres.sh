#!/usr/bin/env bash
# Install (if needed) and start PostgreSQL from Debian's packages, with a role and database for the tests.
# Prints the URL to use as CXLOOP_TEST_DATABASE_URL.
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
  pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main start >&2 || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 1
done
pg_isready -h 127.0.0.1 >&2
su postgres -c "psql -q -v ON_ERROR_STOP=1" >&2 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cxloop') THEN
    CREATE ROLE cxloop LOGIN PASSWORD 'cxloop' CREATEDB;
  END IF;
END $$;
-- The BI views test creates a read-only role (and drops it) to prove the README's GRANTs.
ALTER ROLE cxloop CREATEROLE;
-- Tests drop their databases WITH (FORCE), which must be allowed to end other roles' sessions on them.
GRANT pg_signal_backend TO cxloop;
SQL
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'cxloop'\"" | grep -q 1 \
  || su postgres -c "createdb -O cxloop cxloop" >&2
echo "postgresql+psycopg://cxloop:cxloop@127.0.0.1:5432/cxloop"
