"""Alert rules over the tenant's metrics (issue 14, item 4): the condition grammar
(`grammar.py`), rule loading and validation (`rules.py`), the persisted state machine
(`evaluator.py`) and the durable notification outbox (`delivery.py`). Models live in
`models.py` and are imported by `perf_mgr.models`, so they belong to the perf_mgr app."""
