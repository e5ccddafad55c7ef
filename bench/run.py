"""Entry point: `python -m bench.run [--quick] [--rows N] [--only NAME ...]`.

Needs PostgreSQL prepared by scripts/services.py and migrated as the owner; `make bench`
(bench/run.sh) does both. Prints the results table and rewrites bench/RESULTS.md.
Exits 1 when a row errors; a missed goal is reported, not an error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import shlex
import sys
import time

BENCH_SETTINGS = "config.settings_test"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run (100k rows, fewer ops)")
    parser.add_argument("--rows", type=int, help="size of the large data set (default 1M)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run rows whose key contains NAME (repeatable)",
    )
    return parser.parse_args(argv)


def _require_postgres() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")) or not os.environ.get(
        "DATABASE_OWNER_URL"
    ):
        sys.exit(
            "bench: needs PostgreSQL (DATABASE_URL for the runtime role and "
            "DATABASE_OWNER_URL for the owner). Run it with `make bench` or "
            "`bench/run.sh [--quick]`, which prepare a fresh `dim_bench` database."
        )


def setup_django() -> None:
    # The bench settings layer the bench app (plain twin models) and URLconf over the
    # test settings named here; see bench/settings.py.
    if os.environ.get("DJANGO_SETTINGS_MODULE", BENCH_SETTINGS) != BENCH_SETTINGS:
        print(
            f"# bench: ignoring DJANGO_SETTINGS_MODULE={os.environ['DJANGO_SETTINGS_MODULE']}; "
            f"the bench runs on {BENCH_SETTINGS} (+ bench.settings)",
            file=sys.stderr,
        )
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def check_database() -> tuple[str, str, str]:
    """Refuse to bench anything but the real, fenced configuration."""
    from django.db import connection

    from tenancy import rls_inspect

    if connection.vendor != "postgresql":
        sys.exit("bench: the database is not PostgreSQL")
    report = rls_inspect.inspect()
    if not report.ok:
        sys.exit(
            "bench: isolation problems, run migrate as the owner:\n" + "\n".join(report.problems)
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database(), version()")
        user, database, version = cursor.fetchone()
    return user, database, version.split(" on ")[0]


def load_rows():
    import bench
    from bench.harness import REGISTRY

    for module in sorted(m.name for m in pkgutil.iter_modules(bench.__path__)):
        if module.startswith("rows_"):
            importlib.import_module(f"bench.{module}")
    return list(REGISTRY.values())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    _require_postgres()
    setup_django()
    user, database, pg_version = check_database()

    from bench import report
    from bench.harness import Context, run_rows

    rows = load_rows()
    if args.only:
        rows = [r for r in rows if any(name in r.key for name in args.only)]
        if not rows:
            sys.exit(f"bench: no row matches {args.only}")
    ctx = Context(quick=args.quick, rows=args.rows)
    started = time.perf_counter()
    results = run_rows(rows, ctx, log=lambda line: print(line, file=sys.stderr, flush=True))
    elapsed = time.perf_counter() - started

    command = shlex.join(["python", "-m", "bench.run", *argv])
    if os.environ.get("DIM_BENCH_ENTRY"):
        command = f"{shlex.join([os.environ['DIM_BENCH_ENTRY'], *argv])} (runs {command})"
    setup = [
        f"Mode: {'quick' if args.quick else 'full'}; rows run: {len(results)}; "
        f"bench time {elapsed:.0f} s (data loading included)",
        f"Database: `{database}` as runtime role `{user}` (RLS forced on scoped tables); "
        "connection persistent, no pool",
    ]
    report.write_results(
        results,
        command=command,
        info=report.machine_info(pg_version),
        setup=setup,
    )
    print(report.table(results))
    print(f"\n(written to {report.RESULTS_PATH.relative_to(report.RESULTS_PATH.parents[1])})")
    return 1 if any(r.outcome is None for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
