from tests.scratch_database import scratch_database  # noqa: F401  (migration tests' fixture)
