#!/usr/bin/env bash
# `make bench`: fresh PostgreSQL database `dim_bench` (never the test database),
# migrated as the owner role, then the bench as the runtime role (RLS enforced).
# Arguments go to `python -m bench.run` (e.g. --quick, --rows N, --only NAME).
set -euo pipefail
cd "$(dirname "$0")/.."

export DIM_TEST_DB=${DIM_BENCH_DB:-dim_bench}
export DJANGO_SETTINGS_MODULE=config.settings_test
# services.py only prepares a database when DATABASE_URL is unset; the bench must not
# run against whatever database the caller's shell points at.
unset DATABASE_URL DATABASE_OWNER_URL
eval "$(.venv/bin/python scripts/services.py)"
if [ -z "${DATABASE_URL:-}" ]; then
    echo "bench: PostgreSQL is required (PG_ADMIN_URL, default postgres@127.0.0.1:5432)" >&2
    exit 1
fi

DATABASE_URL="$DATABASE_OWNER_URL" .venv/bin/python manage.py migrate --no-input -v 0
DIM_BENCH_ENTRY=bench/run.sh exec .venv/bin/python -m bench.run "$@"
