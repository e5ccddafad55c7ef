"""Typed errors of the AI manager. Each carries the HTTP status and code the API answers
with (a 4xx, never a 500), so the facade, the tasks and the API report the same reason."""

from __future__ import annotations


class AIError(Exception):
    status = 400
    code = "ai_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class UnknownModel(AIError):
    status, code = 404, "unknown_model"


class UnknownAlias(AIError):
    status, code = 404, "unknown_alias"


class UnknownVersion(AIError):
    status, code = 404, "unknown_version"


class UnknownKind(AIError):
    status, code = 400, "unknown_kind"


class BadTrainingData(AIError):
    status, code = 400, "bad_training_data"


class BadInput(AIError):
    status, code = 400, "bad_input"


class TamperedArtifact(AIError):
    """The artifact's bytes do not match its checksum or signature: refused, never
    loaded. 409: the request was fine, the stored state is not."""

    status, code = 409, "tampered_artifact"
