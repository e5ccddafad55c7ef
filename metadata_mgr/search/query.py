"""A search request: the seed's `MetadataSearch(query, semantic_search=True,
similarity_threshold=0.8)`, checked. Every problem is a MetadataError(400) that names
it (the API answers it as it is)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from metadata_mgr.exceptions import MetadataError
from metadata_mgr.models import MetadataType

MAX_QUERY = 1000
MAX_LIMIT = 100


@dataclass(frozen=True)
class MetadataSearch:
    """`semantic_search=True`: keyword and semantic results fused into one list (the
    threshold keeps semantic hits of at least that cosine similarity);
    `keyword_search=False` leaves keyword matching out, `semantic_search=False` leaves
    embeddings out."""

    query: str
    semantic_search: bool = True
    similarity_threshold: float = 0.8
    keyword_search: bool = True
    limit: int = 10
    metadata_type: str | None = None

    def checked(self) -> MetadataSearch:
        return validate(self)


def _bad(code: str, message: str) -> MetadataError:
    return MetadataError(400, code, message)


def _flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise _bad("invalid_search", f"{name} must be true or false.")
    return value


def validate(search: MetadataSearch) -> MetadataSearch:
    query = search.query
    if not isinstance(query, str):
        raise _bad("invalid_query", "query must be a string.")
    query = " ".join(query.split())
    if not query:
        raise _bad("empty_query", "query is empty: give at least one word to search for.")
    if len(query) > MAX_QUERY:
        raise _bad("query_too_long", f"query has {len(query)} characters; at most {MAX_QUERY}.")
    threshold = search.similarity_threshold
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise _bad("invalid_threshold", "similarity_threshold must be a number from 0 to 1.")
    if not math.isfinite(threshold) or not 0.0 <= threshold <= 1.0:
        raise _bad(
            "invalid_threshold",
            f"similarity_threshold must be between 0 and 1 (a cosine similarity), not {threshold}.",
        )
    semantic = _flag(search.semantic_search, "semantic_search")
    keyword = _flag(search.keyword_search, "keyword_search")
    if not semantic and not keyword:
        raise _bad("invalid_search", "keyword_search and semantic_search are both off.")
    limit = search.limit
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise _bad("invalid_limit", f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    kind = search.metadata_type
    if kind not in (None, "") and kind not in MetadataType.values:
        raise _bad(
            "invalid_type",
            f"metadata_type must be one of {', '.join(MetadataType.values)}, not {kind!r}.",
        )
    return replace(
        search,
        query=query,
        similarity_threshold=float(threshold),
        limit=limit,
        metadata_type=kind or None,
    )
