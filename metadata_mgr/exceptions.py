"""The one error of the metadata manager: an HTTP status, a machine-readable code and a
sentence naming the problem. The API answers it as is; the Python API raises it."""

from __future__ import annotations


class MetadataError(Exception):
    def __init__(self, status: int, code: str, message: str, *, extra: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.extra = extra or {}  # more of the error body (e.g. incompatibility reasons)

    def as_body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def not_found() -> MetadataError:
    # The same answer for another tenant's object and a missing one (no oracle).
    return MetadataError(404, "not_found", "Not found.")
