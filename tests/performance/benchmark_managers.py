"""The seed's `tests/performance/benchmark_managers.py`: runs the project's benchmarks,
`make bench` (bench/run.sh; figures in bench/RESULTS.md, docs/benchmarks.md). Arguments
go to bench/run.sh, e.g. `python tests/performance/benchmark_managers.py --quick
--only sessions`. Not part of pytest: no timing belongs in a test."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    command = ["make", "-C", str(ROOT), "bench"]
    if argv:
        command.append(f"BENCH_ARGS={shlex.join(argv)}")
    print("+", shlex.join(command), flush=True)
    return subprocess.call(command)  # noqa: S603  (our own command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
