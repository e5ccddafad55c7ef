"""Markdown rendering of a run, and RESULTS.md (rewritten by every run)."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import Result, Stats

RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"

INTRO = """\
# Benchmark results

Each row measures *ours* against a named *peer* in the same process and the same run
(interleaved, same database, same data), and compares the p50 latencies (or, for rows
that count something, the count) with the row's goal. Reproduce with `make bench`
(full run, about 2 minutes on 2 cores) or `bench/run.sh --quick`; `make bench` runs
`bench/run.sh`, which prepares a fresh `dim_bench` PostgreSQL database, migrates it as
the owner role and runs `python -m bench.run` as the runtime role (RLS enforced). This
file is rewritten by every run: the figures below are those of the last one.
"""

HEADER = (
    "| # | Row | ours p50 µs | ours p95 µs | ours ops/s "
    "| peer p50 µs | peer p95 µs | peer ops/s | ours/peer (p50 latency) | Goal | Result |"
)


def _stats_cells(stats: Stats | None, text: str) -> list[str]:
    if stats is None:
        return [text or "—", "—", "—"]
    return [f"{stats.p50_us:,.1f}", f"{stats.p95_us:,.1f}", f"{stats.ops_per_s:,.0f}"]


def table(results: list[Result]) -> str:
    lines = [HEADER, _rule()]
    for n, result in enumerate(results, 1):
        row, outcome = result.row, result.outcome
        if outcome is None:
            cells = ["—"] * 7 + [str(row.goal), f"ERROR: {result.error}"]
        else:
            figure = f"{outcome.figure:.3f}" if outcome.value is None else f"{outcome.figure:g}"
            cells = [
                *_stats_cells(outcome.ours, outcome.ours_text),
                *_stats_cells(outcome.peer, outcome.peer_text),
                figure,
                str(row.goal),
                "PASS" if result.passed else "**MISS**",
            ]
        lines.append("| " + " | ".join([str(n), f"`{row.key}`", *cells]) + " |")
    return "\n".join(lines)


def _rule() -> str:
    columns = HEADER.count("|") - 1
    return "|" + "---|" * columns


def legend(results: list[Result]) -> str:
    lines = []
    for n, result in enumerate(results, 1):
        row = result.row
        lines.append(f"{n}. **{row.title}** (`{row.key}`): ours = {row.ours}; peer = {row.peer}.")
        if result.outcome is not None:
            lines.extend(f"   - {note}" for note in result.outcome.notes)
        lines.append(f"   - measured in {result.seconds:.1f} s")
    return "\n".join(lines)


def machine_info(postgres_version: str) -> list[tuple[str, str]]:
    import django

    return [
        ("Date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("Machine", f"{platform.machine()}, {os.cpu_count()} CPUs (nproc), {platform.system()}"),
        ("Python", sys.version.split()[0]),
        ("Django", django.get_version()),
        ("PostgreSQL", postgres_version),
    ]


def write_results(
    results: list[Result], *, command: str, info: list[tuple[str, str]], setup: list[str]
) -> str:
    parts = [
        INTRO,
        f"Command: `{command}`\n",
        "\n".join(f"- {name}: {value}" for name, value in info),
        "",
        "\n".join(f"- {line}" for line in setup),
        "",
        table(results),
        "",
        "Rows:",
        "",
        legend(results),
        "",
    ]
    text = "\n".join(parts)
    RESULTS_PATH.write_text(text)
    return text
