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

from bson.binary import Binary
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from metadata_mgr.codec import SEALED, aad, decode
from tenancy.context import require_tenant_id

RECORD_LABEL = "metadata_mgr.record"  # what a record's sealed body is bound to (codec.row_aad)


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

    def put(self, record_id: str, body: bytes, codec: int, version_seq: int) -> None:
        self._write(record_id, version_seq, {"codec": int(codec), "body": Binary(bytes(body))})

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

    def get(self, record_id: str):
        key = self._key(record_id)
        doc = self.collection.find_one({**key, "deleted": False})
        if doc is None:
            return None
        codec = int(doc["codec"])
        bound = aad(key["tenant_id"], RECORD_LABEL, "body", record_id) if codec & SEALED else None
        return decode(bytes(doc["body"]), codec, bound)

    def version_of(self, record_id: str) -> int | None:
        doc = self.collection.find_one(self._key(record_id), {"version_seq": 1})
        return None if doc is None else int(doc["version_seq"])

    def drop_tenant(self) -> None:
        self.collection.delete_many({"tenant_id": require_tenant_id()})
