"""Record content in MongoDB (pymongo).

One collection for every tenant; each document is one record's current content as
`metadata_mgr.codec` encoded it (zstd-compressed when large, sealed with the tenant's
key when sensitive: the envelope is bound to the tenant and the record, so MongoDB
never holds a sensitive record in clear). `tenant_id` is in every filter and leads
every index key; it comes from the tenant context, so a call without one fails closed
(`TenantContextMissing`) before MongoDB is asked anything.

Document: {tenant_id, record_id, version_seq, codec, body, deleted}. A delete keeps a
tombstone with the version, so a late, older put cannot bring the record back.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager

from bson.binary import Binary
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import ConnectionFailure, DuplicateKeyError, ExecutionTimeout

from metadata_mgr.codec import SEALED, aad, decode
from metadata_mgr.exceptions import BackendUnavailable
from tenancy.context import require_tenant_id

RECORD_LABEL = "metadata_mgr.record"  # what a record's sealed body is bound to (codec.row_aad)


@contextmanager
def reachable():
    """MongoDB down (no server selected, connection lost, timed out) is a
    `BackendUnavailable` (a 503 with Retry-After), not an error of ours."""
    try:
        yield
    except (ConnectionFailure, ExecutionTimeout) as exc:
        raise BackendUnavailable("document store (MongoDB)", type(exc).__name__) from exc


def _reachable(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with reachable():
            return method(*args, **kwargs)

    return wrapper


class MongoDocumentStore:
    name = "mongodb"
    external = True

    def __init__(self, collection):
        self.collection = collection
        self._indexed = False

    @classmethod
    def from_url(cls, url: str, *, database: str | None = None, collection: str = "records"):
        from django.conf import settings
        from pymongo import MongoClient

        client = MongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000)
        name = database or getattr(settings, "METADATA_MONGODB_DATABASE", "dim_metadata")
        return cls(client[name][collection])

    @_reachable
    def ensure_indexes(self) -> None:
        if self._indexed:
            return
        # Tenant first: every query is a prefix of it, and a shard key can be too.
        self.collection.create_index(
            [("tenant_id", ASCENDING), ("record_id", ASCENDING)],
            unique=True,
            name="tenant_record",
        )
        self._indexed = True

    def _key(self, record_id: str) -> dict:
        return {"tenant_id": require_tenant_id(), "record_id": str(record_id)}

    @_reachable
    def put(self, record_id: str, body: bytes, codec: int, version_seq: int) -> None:
        self._write(record_id, version_seq, {"codec": int(codec), "body": Binary(bytes(body))})

    @_reachable
    def delete(self, record_id: str) -> None:
        key = self._key(record_id)
        self.ensure_indexes()
        # A tombstone: content gone, version kept (a stale put is then refused).
        self.collection.update_one(
            key, {"$set": {"deleted": True}, "$unset": {"body": "", "codec": ""}}
        )

    def _write(self, record_id: str, version_seq: int, fields: dict) -> None:
        key = self._key(record_id)
        self.ensure_indexes()
        newer_or_same = {**key, "version_seq": {"$lte": int(version_seq)}}
        update = {"$set": {**fields, "version_seq": int(version_seq), "deleted": False}}
        try:
            self.collection.find_one_and_update(
                newer_or_same, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            pass  # a newer version is stored already: this put is stale

    @_reachable
    def get(self, record_id: str):
        key = self._key(record_id)
        return self._decoded(key, self.collection.find_one({**key, "deleted": False}))

    @_reachable
    def get_version(self, record_id: str, version_seq: int):
        key = self._key(record_id)
        found = {**key, "deleted": False, "version_seq": int(version_seq)}
        return self._decoded(key, self.collection.find_one(found))

    @staticmethod
    def _decoded(key: dict, doc):
        if doc is None:
            return None
        record_id = key["record_id"]
        codec = int(doc["codec"])
        bound = aad(key["tenant_id"], RECORD_LABEL, "body", record_id) if codec & SEALED else None
        return decode(bytes(doc["body"]), codec, bound)

    @_reachable
    def version_of(self, record_id: str) -> int | None:
        doc = self.collection.find_one(self._key(record_id), {"version_seq": 1})
        return None if doc is None else int(doc["version_seq"])

    @_reachable
    def drop_tenant(self) -> None:
        self.collection.delete_many({"tenant_id": require_tenant_id()})
