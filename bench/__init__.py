"""Benchmarks: every row measures ours against a named peer in the same run.

`make bench` (bench/run.sh) or `python -m bench.run [--quick] [--rows N] [--only NAME]`.
Reusable pieces are in `bench.harness`; rows live in `bench/rows_*.py`.
"""
