#!/bin/sh
# PostgreSQL's first start (the postgres image runs /docker-entrypoint-initdb.d/*.sh as
# the superuser): the roles of the isolation design, as scripts/services.py creates
# them for the tests (docs/isolation.md):
#   dim_owner  owns the tables, runs migrations
#   dim_app    the runtime role: not superuser, not BYPASSRLS, not the tables' owner
set -eu
: "${DIM_OWNER_PASSWORD:?set DIM_OWNER_PASSWORD}"
: "${DIM_APP_PASSWORD:?set DIM_APP_PASSWORD}"
DIM_DB="${DIM_DB:-dim}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_pw="$DIM_OWNER_PASSWORD" -v app_pw="$DIM_APP_PASSWORD" -v db="$DIM_DB" <<'SQL'
CREATE ROLE dim_owner LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB PASSWORD :'owner_pw';
CREATE ROLE dim_app LOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT NOCREATEDB NOCREATEROLE
  PASSWORD :'app_pw';
CREATE DATABASE :"db" OWNER dim_owner;
\connect :"db"
ALTER SCHEMA public OWNER TO dim_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO dim_app;
SQL
