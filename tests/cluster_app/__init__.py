"""Installed only by `make cluster-test` (DIM_EXTRA_APPS=tests.cluster_app): one probe
of the tenant cache, so the cluster test can watch an invalidation reach each web
process (scripts/cluster_test.py)."""
