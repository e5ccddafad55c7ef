"""Search in Elasticsearch, built with the Elasticsearch DSL (`elasticsearch.dsl`).

One shared index for every tenant. Each document's id is "<tenant>:<record>" and its
routing key is the tenant, so one tenant's documents sit on one shard and a search is
sent to that shard only. Isolation does not rest on routing (a shard holds many
tenants): every query carries the tenant term filter, from the tenant context —

- keyword: a bool query whose `filter` holds the tenant (and the term is required);
- semantic: the tenant filter sits INSIDE the kNN clause (`knn.filter`), so the k
  nearest neighbours are chosen among the tenant's vectors. A post-filter would pick
  the k nearest of all tenants first and drop the others' afterwards, leaving a tenant
  fewer than k hits (or none).

Vectors live in `embedding_<dims>` (a dense_vector, cosine), mapped when a vector of
that size is first written; the filter also names the encoder, since a per-tenant
TF-IDF encoder's vectors are not comparable with another's.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager

import numpy as np
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout
from elasticsearch.dsl import Q, Search

from metadata_mgr.backends.base import Hit, IndexEntry
from metadata_mgr.exceptions import BackendUnavailable
from tenancy.context import require_tenant_id

KEYWORD_FIELDS = ["name^3", "tags^2", "owner", "content", "text"]
TEXT = {"type": "text", "analyzer": "english"}
MAPPING = {
    "properties": {
        "tenant_id": {"type": "keyword"},
        "record_id": {"type": "keyword"},
        "encoder": {"type": "keyword"},
        "metadata_type": {"type": "keyword"},
        "version_seq": {"type": "integer"},
        "name": TEXT,
        "tags": TEXT,
        "owner": TEXT,
        "content": TEXT,
        "text": TEXT,
    }
}


# What a server answers when it is overloaded or has no shard to serve: as unavailable
# as a refused connection, for the caller.
UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})


@contextmanager
def reachable():
    """Elasticsearch down, timing out or refusing for want of a shard is a
    `BackendUnavailable` (a 503 with Retry-After), not an error of ours."""
    try:
        yield
    except (ConnectionError, ConnectionTimeout) as exc:
        raise BackendUnavailable("search backend (Elasticsearch)", type(exc).__name__) from exc
    except ApiError as exc:
        if exc.meta is not None and exc.meta.status in UNAVAILABLE_STATUSES:
            raise BackendUnavailable(
                "search backend (Elasticsearch)", f"HTTP {exc.meta.status}"
            ) from exc
        raise


def vector_field(dims: int) -> str:
    return f"embedding_{int(dims)}"


def doc_id(tenant_id: int, record_id: str) -> str:
    return f"{tenant_id}:{record_id}"


def tenant_filter(tenant_id: int):
    return Q("term", tenant_id=str(tenant_id))


def keyword_search(index: str, tenant_id: int, query: str, limit: int) -> Search:
    """The keyword request: any word of `query`, the tenant as a filter and routing."""
    match = Q("multi_match", query=query, fields=KEYWORD_FIELDS, operator="or")
    return (
        Search(index=index)
        .query(Q("bool", must=[match], filter=[tenant_filter(tenant_id)]))
        .params(routing=str(tenant_id))
        .source(["record_id"])
        .extra(size=limit)
    )


def knn_search(index: str, tenant_id: int, vector, k: int, encoder: str) -> Search:
    """The semantic request: the tenant (and encoder) filter inside the kNN clause."""
    dims = int(np.asarray(vector).shape[-1])
    inside = Q("bool", filter=[tenant_filter(tenant_id), Q("term", encoder=encoder)])
    return (
        Search(index=index)
        .knn(
            field=vector_field(dims),
            k=k,
            num_candidates=max(100, 2 * k),
            query_vector=[float(x) for x in np.asarray(vector, dtype=np.float32).ravel()],
            filter=inside,
        )
        .params(routing=str(tenant_id))
        .source(["record_id"])
        .extra(size=k)
    )


class ElasticsearchSearch:
    name = "elasticsearch"
    external = True

    def __init__(
        self, client, index: str = "dim-metadata", refresh: str = "wait_for", shards: int = 1
    ):
        self.client = client
        self.index = index
        self.shards = shards  # of the index, when this backend creates it
        # "wait_for": the indexer returns once its changes are searchable (an update
        # is visible to the next search, as with the database backend).
        self.refresh = refresh
        self._mapped: set[str] = set()

    @classmethod
    def from_url(cls, url: str):
        from django.conf import settings
        from elasticsearch import Elasticsearch

        index = getattr(settings, "METADATA_ELASTICSEARCH_INDEX", "dim-metadata")
        shards = getattr(settings, "ELASTICSEARCH_SHARDS", 5)
        return cls(Elasticsearch(url, request_timeout=10), index=index, shards=shards)

    # --- writes ---------------------------------------------------------------------------

    def _ensure(self, dims: int | None) -> None:
        if "index" not in self._mapped:
            if not self.client.indices.exists(index=self.index):
                self.client.indices.create(
                    index=self.index,
                    mappings=MAPPING,
                    settings={"number_of_shards": self.shards},
                )
            self._mapped.add("index")
        if dims and vector_field(dims) not in self._mapped:
            field = {"type": "dense_vector", "dims": dims, "index": True, "similarity": "cosine"}
            self.client.indices.put_mapping(
                index=self.index, properties={vector_field(dims): field}
            )
            self._mapped.add(vector_field(dims))

    def write(self, entries: Mapping[str, IndexEntry | None]) -> None:
        tenant_id = require_tenant_id()
        with reachable():
            self._write(tenant_id, entries)

    def _write(self, tenant_id: int, entries: Mapping[str, IndexEntry | None]) -> None:
        routing = str(tenant_id)
        operations: list[dict] = []
        for record_id, entry in entries.items():
            target = {"_index": self.index, "_id": doc_id(tenant_id, record_id), "routing": routing}
            if entry is None:
                operations.append({"delete": target})
                continue
            source = {
                "tenant_id": routing,
                "record_id": str(record_id),
                "encoder": entry.encoder,
                "version_seq": entry.version_seq,
                "text": entry.text,
                "name": entry.fields.get("name", ""),
                "content": entry.fields.get("content", ""),
                "tags": entry.fields.get("tags", []),
                "owner": entry.fields.get("owner", ""),
                "metadata_type": entry.fields.get("metadata_type", ""),
            }
            if entry.vector is not None:
                vector = np.asarray(entry.vector, dtype=np.float32).ravel()
                self._ensure(len(vector))
                source[vector_field(len(vector))] = [float(x) for x in vector]
            operations += [{"index": target}, source]
        if not operations:
            return
        self._ensure(None)
        result = self.client.bulk(operations=operations, refresh=self.refresh)
        failed = [
            item
            for item in result["items"]
            for op, outcome in item.items()
            # Deleting what is not there is fine (a record never indexed, then removed).
            if outcome.get("status", 200) >= 300
            and not (op == "delete" and outcome.get("status") == 404)
        ]
        if failed:
            raise RuntimeError(f"Elasticsearch refused {len(failed)} documents: {failed[:3]}")

    def drop_tenant(self) -> None:
        tenant_id = require_tenant_id()
        with reachable():
            self._ensure(None)
            self.client.delete_by_query(
                index=self.index,
                query=tenant_filter(tenant_id).to_dict(),
                routing=str(tenant_id),
                refresh=True,
            )

    # --- reads ----------------------------------------------------------------------------

    def keyword(self, query: str, limit: int) -> list[Hit]:
        tenant_id = require_tenant_id()
        with reachable():
            self._ensure(None)
            request = keyword_search(self.index, tenant_id, query, limit).using(self.client)
            response = request.execute()
        return [(hit.record_id, float(hit.meta.score)) for hit in response]

    def semantic(self, vector: np.ndarray, k: int, threshold: float, encoder: str) -> list[Hit]:
        tenant_id = require_tenant_id()
        with reachable():
            self._ensure(len(np.asarray(vector).ravel()))
            request = knn_search(self.index, tenant_id, vector, k, encoder).using(self.client)
            response = request.execute()
        out = []
        for hit in response:
            # Elasticsearch scores cosine as (1 + cos) / 2; the threshold is on cos.
            cosine = 2.0 * float(hit.meta.score) - 1.0
            if cosine >= threshold:
                out.append((hit.record_id, cosine))
        return out
