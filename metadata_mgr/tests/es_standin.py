"""`InMemoryElasticsearch`: a named stand-in for an Elasticsearch server, for the
backend contract tests in CI (no Elasticsearch can be installed on our machines, and
no maintained in-memory Elasticsearch installs from the registry).

It is a test double, not an emulator. It executes exactly the subset of the request
body that `metadata_mgr.backends.elastic` builds with the DSL, and refuses anything
else (NotImplementedError), so a query the backend starts to send is never silently
"passed":

- index management: `indices.exists / create / put_mapping` (dense_vector dims kept);
- `bulk` (index / delete, with `routing`), `delete_by_query` (a term query);
- `search` with `routing`: the documents of the routed shard only (`shards`, chosen
  by crc32 of the routing key as a stand-in for Elasticsearch's murmur3); with one
  shard every tenant shares it, and the tenant filter alone isolates them;
- queries: `bool` (must / filter / should / must_not), `term`, `multi_match`
  (any word, boosts `field^n`, lower-cased words with a trailing "s" dropped);
- `knn` with `filter`: the filter is applied BEFORE the k nearest are chosen (the
  semantics of a kNN pre-filter), score (1 + cosine) / 2 as for `similarity: cosine`.

Every search body is kept in `requests`, so tests can assert on what was sent.

Fault injection: set `fault` to "refused" (every call raises the client's own
`elasticsearch.ConnectionError`, as when the server is down) or to an HTTP status
such as 503 (every call raises the client's `ApiError` with that status, as when the
cluster has no shard to serve), and back to None to bring the server back.
"""

from __future__ import annotations

import copy
import re
import zlib
from types import SimpleNamespace

import numpy as np

SHARDS = 2
WORD = re.compile(r"\w+", re.UNICODE)


def analyse(value) -> list[str]:
    if isinstance(value, list):
        return [w for item in value for w in analyse(item)]
    words = WORD.findall(str(value or "").lower())
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words]


def shard_of(routing: str, shards: int = SHARDS) -> int:
    return zlib.crc32(str(routing).encode()) % shards


class _Indices:
    def __init__(self, owner):
        self.owner = owner

    def exists(self, *, index):
        self.owner.check_fault()
        return index in self.owner.mappings

    def create(self, *, index, mappings=None, **_):
        self.owner.check_fault()
        if index in self.owner.mappings:
            raise ValueError(f"resource_already_exists_exception: {index}")
        self.owner.mappings[index] = copy.deepcopy((mappings or {}).get("properties", {}))
        return {"acknowledged": True}

    def put_mapping(self, *, index, properties):
        self.owner.check_fault()
        current = self.owner.mappings[index]
        for name, spec in properties.items():
            if name in current and current[name] != spec:
                raise ValueError(f"illegal_argument_exception: mapper [{name}] cannot change")
            current[name] = copy.deepcopy(spec)
        return {"acknowledged": True}

    def delete(self, *, index, **_):
        self.owner.mappings.pop(index, None)
        self.owner.docs.pop(index, None)


class InMemoryElasticsearch:
    def __init__(self, shards: int = SHARDS):
        self.shards = shards
        self.mappings: dict[str, dict] = {}
        # index -> shard -> id -> (routing, source)
        self.docs: dict[str, dict[int, dict[str, tuple[str, dict]]]] = {}
        self.requests: list[dict] = []
        self.indices = _Indices(self)
        self.fault: str | int | None = None

    def check_fault(self) -> None:
        if self.fault is None:
            return
        from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
        from elasticsearch import ApiError, ConnectionError

        if self.fault == "refused":
            raise ConnectionError("Connection refused (InMemoryElasticsearch fault)")
        node = NodeConfig("http", "standin", 9200)
        meta = ApiResponseMeta(int(self.fault), "1.1", HttpHeaders(), 0.0, node)
        raise ApiError("unavailable_shards_exception", meta=meta, body={})

    # --- writes ---------------------------------------------------------------------------

    def _shards(self, index):
        if index not in self.mappings:
            raise KeyError(f"index_not_found_exception: {index}")
        return self.docs.setdefault(index, {s: {} for s in range(self.shards)})

    def bulk(self, *, operations, refresh=None):
        self.check_fault()
        items, ops = [], list(operations)
        while ops:
            action = ops.pop(0)
            ((op, meta),) = action.items()
            index, doc_id, routing = meta["_index"], meta["_id"], meta.get("routing", meta["_id"])
            shard = self._shards(index)[shard_of(routing, self.shards)]
            if op == "index":
                source = ops.pop(0)
                self._check_vectors(index, source)
                shard[doc_id] = (routing, copy.deepcopy(source))
                items.append({"index": {"_id": doc_id, "status": 200}})
            elif op == "delete":
                found = shard.pop(doc_id, None)
                items.append({"delete": {"_id": doc_id, "status": 200 if found else 404}})
            else:
                raise NotImplementedError(f"bulk action {op!r}")
        return {"errors": any(i[k]["status"] >= 300 for i in items for k in i), "items": items}

    def _check_vectors(self, index, source):
        for name, value in source.items():
            spec = self.mappings[index].get(name)
            if name.startswith("embedding_") and (spec is None or spec["dims"] != len(value)):
                raise ValueError(f"mapper_parsing_exception: {name} is not a mapped vector")

    def delete_by_query(self, *, index, query, routing=None, refresh=None):
        self.check_fault()
        deleted = 0
        for shard_no, shard in self._shards(index).items():
            if routing is not None and shard_no != shard_of(routing, self.shards):
                continue
            for doc_id in [d for d, (_r, src) in shard.items() if self._matches(query, src)]:
                del shard[doc_id]
                deleted += 1
        return {"deleted": deleted}

    # --- search ---------------------------------------------------------------------------

    def search(self, *, index, body, routing=None, **params):
        self.check_fault()
        if params:
            raise NotImplementedError(f"search parameters {sorted(params)}")
        if isinstance(index, list):  # the DSL sends its indexes as a list
            if len(index) != 1:
                raise NotImplementedError(f"search over several indexes {index}")
            (index,) = index
        self.requests.append({"index": index, "routing": routing, "body": copy.deepcopy(body)})
        unknown = set(body) - {"query", "knn", "size", "_source"}
        if unknown:
            raise NotImplementedError(f"search body keys {sorted(unknown)}")
        docs = [
            (doc_id, src)
            for shard_no, shard in self._shards(index).items()
            if routing is None or shard_no == shard_of(routing, self.shards)
            for doc_id, (_r, src) in shard.items()
        ]
        if "knn" in body:
            scored = self._knn(body["knn"], docs)
        else:
            scored = [(d, s, self._score(body.get("query", {"match_all": {}}), s)) for d, s in docs]
            scored = [x for x in scored if x[2] is not None]
        scored.sort(key=lambda x: (-x[2], x[0]))
        hits = [
            {"_index": index, "_id": d, "_score": score, "_source": self._project(body, src)}
            for d, src, score in scored[: body.get("size", 10)]
        ]
        response = {
            "took": 0,
            "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": len(scored), "relation": "eq"}, "hits": hits},
        }
        return SimpleNamespace(body=response)

    @staticmethod
    def _project(body, source):
        wanted = body.get("_source")
        if wanted is None:
            return source
        return {k: v for k, v in source.items() if k in wanted}

    def _knn(self, knn, docs):
        unknown = set(knn) - {"field", "k", "num_candidates", "query_vector", "filter"}
        if unknown:
            raise NotImplementedError(f"knn keys {sorted(unknown)}")
        query = np.asarray(knn["query_vector"], dtype=np.float64)
        candidates = [
            (d, s)
            for d, s in docs
            if knn["field"] in s and ("filter" not in knn or self._matches(knn["filter"], s))
        ]
        scored = []
        for doc_id, src in candidates:
            vector = np.asarray(src[knn["field"]], dtype=np.float64)
            cosine = float(vector @ query / (np.linalg.norm(vector) * np.linalg.norm(query)))
            scored.append((doc_id, src, (1.0 + cosine) / 2.0))
        scored.sort(key=lambda x: (-x[2], x[0]))
        return scored[: knn["k"]]

    # --- query execution --------------------------------------------------------------------

    def _matches(self, query, source) -> bool:
        return self._score(query, source) is not None

    def _score(self, query, source):
        """A score, or None when the document does not match."""
        ((kind, spec),) = query.items()
        if kind == "match_all":
            return 1.0
        if kind == "term":
            ((field, value),) = spec.items()
            value = value["value"] if isinstance(value, dict) else value
            stored = source.get(field)
            stored = stored if isinstance(stored, list) else [stored]
            return 0.0 if str(value) in [str(v) for v in stored] else None
        if kind == "multi_match":
            return self._multi_match(spec, source)
        if kind == "bool":
            return self._bool(spec, source)
        raise NotImplementedError(f"query type {kind!r}")

    def _bool(self, spec, source):
        unknown = set(spec) - {"must", "filter", "should", "must_not"}
        if unknown:
            raise NotImplementedError(f"bool keys {sorted(unknown)}")

        def clauses(key):
            value = spec.get(key, [])
            return value if isinstance(value, list) else [value]

        total = 0.0
        for clause in clauses("filter"):
            if not self._matches(clause, source):
                return None
        for clause in clauses("must_not"):
            if self._matches(clause, source):
                return None
        for clause in clauses("must"):
            score = self._score(clause, source)
            if score is None:
                return None
            total += score
        should = [self._score(c, source) for c in clauses("should")]
        if clauses("should") and not clauses("must") and not clauses("filter"):
            if all(s is None for s in should):
                return None
        return total + sum(s for s in should if s is not None)

    def _multi_match(self, spec, source):
        unknown = set(spec) - {"query", "fields", "operator"}
        if unknown or spec.get("operator", "or") != "or":
            raise NotImplementedError(f"multi_match options {spec}")
        words = set(analyse(spec["query"]))
        best = 0.0
        for field in spec["fields"]:
            name, _, boost = field.partition("^")
            found = set(analyse(source.get(name, ""))) & words
            best = max(best, len(found) * float(boost or 1))
        return best if best > 0 else None
