"""The one error of the metadata manager: an HTTP status, a machine-readable code and a
sentence naming the problem. The API answers it as is; the Python API raises it."""

from __future__ import annotations


class MetadataError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        extra: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.extra = extra or {}  # more of the error body (e.g. incompatibility reasons)
        self.headers = headers or {}  # of the answer (e.g. Retry-After of a 503)

    def as_body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def not_found() -> MetadataError:
    # The same answer for another tenant's object and a missing one (no oracle).
    return MetadataError(404, "not_found", "Not found.")


# How long a client waits before asking again when a backend is down (seconds): long
# enough for a restart or a failover, short enough not to lose the user.
RETRY_AFTER_SECONDS = 30


class BackendUnavailable(MetadataError):
    """A configured backend (Elasticsearch, MongoDB) cannot be reached: a 503 with
    Retry-After, never a 500. Nothing was half-written (the indexer's batch rolled
    back and stays in the outbox)."""

    def __init__(self, backend: str, detail: str = ""):
        reason = f" ({detail})" if detail else ""
        super().__init__(
            503,
            "backend_unavailable",
            f"The metadata {backend} is unavailable{reason}; try again in "
            f"{RETRY_AFTER_SECONDS} seconds.",
            extra={"backend": backend, "retry_after": RETRY_AFTER_SECONDS},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
