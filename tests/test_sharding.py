"""The shard split (tests/sharding.py) that lets CI run the PostgreSQL pass in parts."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.sharding import DEDICATED_WEIGHT, MODULE_SECONDS, PINNED_TO_FIRST, assign, parse_shard

ROOT = Path("/repo")


def _items(spec: dict[str, list[str]]):
    return [
        SimpleNamespace(path=ROOT / module, nodeid=f"{module}::{name}")
        for module, names in spec.items()
        for name in names
    ]


def test_parse_shard_reads_k_of_n():
    assert parse_shard("2/3") == (2, 3)


@pytest.mark.parametrize("text", ["", "1", "0/2", "3/2", "a/b", "1/2/3", "-1/2"])
def test_parse_shard_refuses_what_is_not_k_of_n(text):
    with pytest.raises(ValueError, match="DIM_TEST_SHARD"):
        parse_shard(text)


def test_assign_keeps_a_module_whole_and_balances_by_weight():
    spec = {
        "a/test_big.py": [f"t{i}" for i in range(10)],
        "b/test_mid.py": [f"t{i}" for i in range(6)],
        "c/test_small.py": [f"t{i}" for i in range(4)],
    }
    shard_of = assign(_items(spec), 2, ROOT)
    assert set(shard_of) == set(spec)
    assert shard_of["a/test_big.py"] != shard_of["b/test_mid.py"]
    assert shard_of["b/test_mid.py"] == shard_of["c/test_small.py"]  # 10 against 6 + 4


def test_assign_counts_a_dedicated_world_test_as_heavier():
    spec = {
        "x/test_conformance.py": ["t[dedicated-a]", "t[dedicated-b]"],
        "y/test_plain.py": [f"t{i}" for i in range(2 * DEDICATED_WEIGHT - 1)],
        "z/test_other.py": ["t"],
    }
    shard_of = assign(_items(spec), 2, ROOT)
    assert shard_of["x/test_conformance.py"] != shard_of["y/test_plain.py"]
    assert shard_of["z/test_other.py"] == shard_of["y/test_plain.py"]


def test_assign_weighs_a_measured_module_by_its_seconds():
    heavy = "tests/browser/test_crawl.py"
    spec = {heavy: ["t"], "a/test_many.py": [f"t{i}" for i in range(MODULE_SECONDS[heavy] - 1)]}
    spec["b/test_few.py"] = ["t"]
    shard_of = assign(_items(spec), 2, ROOT)
    assert shard_of[heavy] != shard_of["a/test_many.py"]
    assert shard_of["b/test_few.py"] == shard_of["a/test_many.py"]


def test_assign_pins_the_role_report_modules_to_the_first_shard():
    spec = {module: ["t"] for module in PINNED_TO_FIRST}
    spec["big/test_many.py"] = [f"t{i}" for i in range(1000)]
    shard_of = assign(_items(spec), 2, ROOT)
    assert {shard_of[m] for m in PINNED_TO_FIRST} == {0}
    assert shard_of["big/test_many.py"] == 1


@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,6}/test_[a-z]{1,6}\.py", fullmatch=True),
        st.integers(min_value=1, max_value=30),
        min_size=1,
        max_size=25,
    ),
    st.integers(min_value=1, max_value=4),
)
def test_assign_puts_every_module_in_exactly_one_shard_the_same_way_twice(sizes, n):
    items = _items({m: [f"t{i}" for i in range(size)] for m, size in sizes.items()})
    first = assign(items, n, ROOT)
    assert first == assign(list(reversed(items)), n, ROOT)  # same split in every shard
    assert set(first) == set(sizes)
    assert all(0 <= shard < n for shard in first.values())
