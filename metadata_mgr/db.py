"""The database of the tenant-in-context's metadata rows: its own when the tenant is
dedicated (connection_mgr's router), else the default one. Transactions and row locks
are taken there: `transaction.atomic()` alone opens one on the default database, and a
dedicated tenant's writes would run outside it (its `select_for_update` refused)."""

from __future__ import annotations

from django.db import router


def database() -> str:
    from metadata_mgr.models import Record

    return router.db_for_write(Record)
