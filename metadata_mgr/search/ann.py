"""The per-tenant in-process vector index.

Built lazily from the tenant's search documents (the source of truth) on its first
semantic search in a process, and caught up before every search from the documents
changed since its last check (`updated_at`, with an overlap: a transaction that
committed late still shows up). Small tenants are searched exactly (numpy); from
`METADATA_SEARCH_ANN_MIN` vectors on, by a faiss HNSW graph (inner product on unit
vectors = cosine). HNSW cannot remove a vector: a changed or removed record's old row
is marked dead and skipped, and the graph is rebuilt once a quarter of it is dead.

All loaded indexes share `METADATA_SEARCH_INDEX_BUDGET_BYTES`: loading one evicts
the least recently used others until the total fits. Indexes are keyed by the tenant
in context and read only the scoped documents: one tenant's index never holds
another's vectors.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.utils import timezone

from metadata_mgr.models import SearchDocument
from tenancy import resettable
from tenancy.context import require_tenant_id

OVERLAP = timedelta(seconds=5)
HNSW_M = 32


def _setting(name: str, default):
    return getattr(settings, name, default)


class TenantIndex:
    def __init__(self, tenant_id: int, encoder_name: str, dim: int):
        self.tenant_id = tenant_id
        self.encoder_name = encoder_name
        self.dim = dim
        self.vectors = np.zeros((0, dim), dtype=np.float32)
        self.ids: list[str] = []  # row -> record id
        self.row_of: dict[str, int] = {}  # live record id -> row
        self.seen: dict[str, tuple] = {}  # record id -> (updated_at, version) applied
        self.dead: set[int] = set()
        self.hnsw = None
        self.checked_at = None  # when the documents were last read
        self.lock = threading.RLock()

    # --- size ---------------------------------------------------------------------------

    @property
    def live(self) -> int:
        return len(self.row_of)

    def nbytes(self) -> int:
        """An estimate: the vectors, the graph's links (2*M per vector on its bottom
        layer), and the id maps."""
        vectors = len(self.ids) * self.dim * 4
        graph = len(self.ids) * HNSW_M * 2 * 4 if self.hnsw is not None else 0
        return vectors + graph + len(self.ids) * 120

    def all_vectors(self) -> np.ndarray:
        # Once the graph is built it holds the only copy of the vectors.
        if self.hnsw is None:
            return self.vectors
        return self.hnsw.reconstruct_n(0, self.hnsw.ntotal)

    # --- updates ------------------------------------------------------------------------

    def apply(self, docs) -> None:
        """Apply document rows (record_id, active, embedding, encoder, updated_at)."""
        added: list[tuple[str, np.ndarray]] = []
        for record_id, active, embedding, encoder, updated_at in docs:
            key = str(record_id)
            mark = (updated_at, bool(active), encoder)
            if self.seen.get(key) == mark:
                continue  # re-read in the overlap window
            self.seen[key] = mark
            old = self.row_of.pop(key, None)
            if old is not None:
                self.dead.add(old)
            if active and embedding is not None and encoder == self.encoder_name:
                added.append((key, np.frombuffer(bytes(embedding), dtype=np.float32)))
        if added:
            start = len(self.ids)
            block = np.vstack([v for _k, v in added]).astype(np.float32)
            if self.hnsw is not None:
                self.hnsw.add(block)
            else:
                self.vectors = np.vstack([self.vectors, block]) if start else block
            for offset, (key, _v) in enumerate(added):
                self.ids.append(key)
                self.row_of[key] = start + offset
        if len(self.dead) > max(64, len(self.ids) // 4):
            self._compact()
        self._maybe_build()

    def _compact(self) -> None:
        keep = sorted(self.row_of.values())
        every = self.all_vectors()
        self.vectors = every[keep] if keep else np.zeros((0, self.dim), np.float32)
        self.ids = [self.ids[r] for r in keep]
        self.row_of = {key: row for row, key in enumerate(self.ids)}
        self.dead = set()
        self.hnsw = None

    def _maybe_build(self) -> None:
        if self.hnsw is not None or len(self.ids) < _setting("METADATA_SEARCH_ANN_MIN", 5000):
            return
        import faiss

        index = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.add(self.vectors)
        self.hnsw = index
        self.vectors = np.zeros((0, self.dim), dtype=np.float32)

    # --- search -------------------------------------------------------------------------

    def search(self, query: np.ndarray, k: int) -> list[tuple[str, float]]:
        """[(record id, cosine)], best first, at most k."""
        with self.lock:
            if not self.row_of:
                return []
            query = np.asarray(query, dtype=np.float32).reshape(1, -1)
            if self.hnsw is None:
                return self._exact(query, k)
            wanted = min(len(self.ids), k + len(self.dead) + k)
            self.hnsw.hnsw.efSearch = max(_setting("METADATA_SEARCH_EF", 128), wanted)
            scores, rows = self.hnsw.search(query, wanted)
            out = []
            for score, row in zip(scores[0], rows[0], strict=True):
                if row >= 0 and row not in self.dead:
                    out.append((self.ids[row], float(score)))
                    if len(out) == k:
                        break
            return out

    def _exact(self, query: np.ndarray, k: int) -> list[tuple[str, float]]:
        scores = self.vectors @ query[0]
        if self.dead:
            scores = scores.copy()
            scores[list(self.dead)] = -np.inf
        k = min(k, self.live)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[r], float(scores[r])) for r in top]


FULL = ("record_id", "active", "embedding", "encoder", "updated_at")


def _rows(since=None):
    docs = SearchDocument.objects.all()
    if since is not None:
        docs = docs.filter(updated_at__gte=since)
    return docs.order_by("updated_at", "id").values_list(*FULL)


def catch_up(index: TenantIndex) -> None:
    """Load the index, or apply what changed since its last check. The window reaches
    OVERLAP before that check (a row written before it may have committed after it);
    rows of the window already applied are recognised by their marks, read without
    their vectors, and skipped."""
    checked = timezone.now()
    if index.checked_at is None:
        index.apply(_rows().iterator(chunk_size=2000))
    else:
        marks = SearchDocument.objects.filter(updated_at__gte=index.checked_at - OVERLAP)
        changed = [
            rid
            for rid, active, encoder, at in marks.values_list(
                "record_id", "active", "encoder", "updated_at"
            )
            if index.seen.get(str(rid)) != (at, bool(active), encoder)
        ]
        for start in range(0, len(changed), 1000):
            rows = SearchDocument.objects.filter(record_id__in=changed[start : start + 1000])
            index.apply(rows.order_by("updated_at", "id").values_list(*FULL))
    index.checked_at = checked


class Registry:
    """The loaded indexes of this process, least recently used first."""

    def __init__(self):
        self.indexes: OrderedDict[int, TenantIndex] = OrderedDict()
        self.lock = threading.Lock()

    def current(self, encoder_name: str, dim: int) -> TenantIndex:
        """The tenant-in-context's index, loaded or caught up."""
        tenant_id = require_tenant_id()
        with self.lock:
            index = self.indexes.get(tenant_id)
            if index is not None and index.encoder_name != encoder_name:
                index = None
            if index is None:
                index = TenantIndex(tenant_id, encoder_name, dim)
                self.indexes[tenant_id] = index
            self.indexes.move_to_end(tenant_id)
        with index.lock:
            catch_up(index)
        self._evict(keep=tenant_id)
        return index

    def _evict(self, keep: int) -> None:
        budget = _setting("METADATA_SEARCH_INDEX_BUDGET_BYTES", 512 * 1024 * 1024)
        with self.lock:
            while len(self.indexes) > 1 and self.total_bytes() > budget:
                oldest = next(iter(self.indexes))
                if oldest == keep:
                    break
                self.indexes.pop(oldest)

    def total_bytes(self) -> int:
        return sum(i.nbytes() for i in self.indexes.values())

    def loaded(self) -> list[int]:
        with self.lock:
            return list(self.indexes)

    def clear(self) -> None:
        with self.lock:
            self.indexes.clear()


registry = Registry()
# Tenant ids repeat across test databases: a fresh start drops every loaded index.
resettable.register(registry.clear, name="metadata_mgr.search.ann.registry")
