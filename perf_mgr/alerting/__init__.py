"""Alert rules over the tenant's metrics (issue 14, item 4): the condition grammar
(`grammar.py`), rule loading and validation (`rules.py`), the persisted state machine
(`evaluator.py`) and the durable notification outbox (`outbox.py`, `delivery.py`). The models are in
`perf_mgr/models/alerting.py` (perf_mgr.models imports them; alerting code imports
perf_mgr.models, so they cannot live here without an import cycle)."""
