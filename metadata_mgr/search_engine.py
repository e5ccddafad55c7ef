"""One ranked list from keyword and semantic search, never stale.

1. Catch up: the tenant's pending outbox rows are applied first (up to 256;
   the periodic indexer does the rest), so a change committed before the search is
   in it.
2. Keyword hits and semantic hits (cosine at least the threshold), from the search
   backend of the settings (metadata_mgr/backends: the database's full text and ANN
   index by default, or Elasticsearch), are fused by reciprocal rank fusion:
   score = sum of 1 / (60 + rank).
3. Every hit is re-checked against the records themselves: a deleted, sensitive or
   missing record is dropped even if an index still holds it.

Query embeddings are cached per tenant (cache_mgr, namespace "metadata-search").
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np
from django.db import IntegrityError

from ai_mgr.exceptions import TamperedArtifact
from metadata_mgr.actions.search_index import current_encoder, do_index_pending
from metadata_mgr.backends import search_backend
from metadata_mgr.models import Record
from metadata_mgr.search.query import MetadataSearch, validate

RRF_K = 60
# Encoding is the cost (a few ms per record): a bulk import is left to the periodic
# indexer rather than paid by one search.
CATCH_UP_ROWS = 256
CACHE_NAMESPACE = "metadata-search"
CACHE_SECONDS = 3600
log = logging.getLogger(__name__)


def catch_up(limit: int = CATCH_UP_ROWS) -> int:
    """Apply up to `limit` pending outbox rows. A conflict with another indexer (both
    creating the same document) leaves the rows for the next run: the search goes on,
    and its hits are re-checked against the store anyway."""
    total = 0
    try:
        done = total = do_index_pending(min(256, limit))
        while done and total < limit:
            done = do_index_pending(min(256, limit - total))
            total += done
    except IntegrityError:
        log.warning("search catch-up deferred: another indexer holds these records")
    except TamperedArtifact as exc:
        # The tenant's registered encoder is refused: the search still answers (from
        # what is indexed); the periodic indexer reports it until an operator refits.
        log.error("search catch-up deferred: %s", exc)
    return total


def query_vector(text: str, encoder) -> np.ndarray:
    from cache_mgr import api as cache

    digest = hashlib.sha256(text.encode()).hexdigest()[:40]
    key = f"q:{encoder.name}:{digest}"
    cached = cache.get(key, namespace=CACHE_NAMESPACE)
    if isinstance(cached, bytes) and len(cached) == encoder.dim * 4:
        return np.frombuffer(cached, dtype=np.float32)
    vector = encoder.encode([text])[0].astype(np.float32)
    cache.set(key, vector.tobytes(), CACHE_SECONDS, namespace=CACHE_NAMESPACE)
    return vector


def semantic(query: str, k: int, threshold: float) -> list[tuple[str, float]]:
    encoder = current_encoder()
    vector = query_vector(query, encoder)
    return search_backend().semantic(vector, k, threshold, encoder.name)


def fuse(*ranked: list[tuple[str, float]], k: int = RRF_K) -> list[tuple[str, float]]:
    scores: dict[str, float] = {}
    for hits in ranked:
        for rank, (rid, _score) in enumerate(hits, start=1):
            scores[rid] = scores.get(rid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def search(params: MetadataSearch) -> list[dict]:
    params = validate(params)
    catch_up()
    fetch = max(params.limit * 3, 30)
    by_keyword = search_backend().keyword(params.query, fetch) if params.keyword_search else []
    by_meaning = (
        semantic(params.query, fetch, params.similarity_threshold) if params.semantic_search else []
    )
    fused = fuse(by_keyword, by_meaning)
    live = Record.objects.defer("body").filter(
        pk__in=[rid for rid, _s in fused], deleted_at__isnull=True, sensitive=False
    )
    if params.metadata_type:
        live = live.filter(metadata_type=params.metadata_type)
    records = {str(r.pk): r for r in live}
    keyword_rank = {rid: rank for rank, (rid, _s) in enumerate(by_keyword, start=1)}
    similarity = dict(by_meaning)
    out = []
    for rid, score in fused:
        record = records.get(rid)
        if record is None:
            continue
        out.append(
            {
                "id": rid,
                "name": record.name,
                "metadata_type": record.metadata_type,
                "version": record.version,
                "tags": record.tags,
                "owner": record.owner,
                "score": round(score, 6),
                "keyword_rank": keyword_rank.get(rid),
                "similarity": round(similarity[rid], 4) if rid in similarity else None,
            }
        )
        if len(out) == params.limit:
            break
    return out
