#!/bin/bash
# PostgreSQL for docker-compose.yml: create the cluster on first start, then, on every start,
# make sure each role/database pair named in the environment exists with the password given
# there (so a password changed in .env applies at the next start), then serve.
#   PG_DATABASES="prefect epbatch"   pairs role = database = NAME, each with its password in
#   PG_PASSWORD_<NAME>               (e.g. PG_PASSWORD_prefect)
# The superuser `postgres` has no password: only the container's own socket (peer auth) reaches
# it. Other connections need a password (scram-sha-256).
set -euo pipefail

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    initdb --username=postgres --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 -D "$PGDATA" > /dev/null
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi

# Set up over the socket only, before anyone can connect over TCP.
pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w -s start
for name in ${PG_DATABASES:-}; do
    var="PG_PASSWORD_$name"
    password="${!var:-}"
    if [[ -z "$password" ]]; then
        echo "postgres-entrypoint: $var is empty (set it in .env)" >&2
        pg_ctl -D "$PGDATA" -m fast -w -s stop
        exit 1
    fi
    psql -v ON_ERROR_STOP=1 -q -U postgres -d postgres -v name="$name" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'name')
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'name', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name') \gexec
SQL
done
pg_ctl -D "$PGDATA" -m fast -w -s stop

exec postgres -D "$PGDATA" -c listen_addresses='*'
