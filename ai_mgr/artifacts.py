"""Artifacts: a version's arrays as a `.npz` file, checksummed and signed.

Never pickle: `np.load(..., allow_pickle=False)` reads plain arrays only, so even a
forged artifact cannot run code. On top of that each artifact carries an HMAC-SHA256
under a key derived from the master key (kms) for its owner (the tenant, or the platform
for shared models), bound to the model's name and version number: an artifact altered
in storage, or copied from another tenant or version, is refused with
`TamperedArtifact` before it is parsed."""

from __future__ import annotations

import hashlib
import hmac
import io

import numpy as np

from ai_mgr.exceptions import TamperedArtifact
from kms.provider import get_master_key_provider

PLATFORM = 0  # the owner id of shared (platform-wide) models


def _key(owner_id: int) -> bytes:
    return get_master_key_provider().derive(b"ai/artifact/%d" % owner_id, 32)


def pack(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.ascontiguousarray(value) for name, value in arrays.items()})
    return buffer.getvalue()


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sign(data: bytes, *, owner_id: int, model: str, number: int) -> str:
    binding = f"{owner_id}\0{model}\0{number}\0".encode()
    return hmac.new(_key(owner_id), binding + data, hashlib.sha256).hexdigest()


def verify(data: bytes, *, digest: str, signature: str, owner_id: int, model: str, number: int):
    if not hmac.compare_digest(checksum(data), digest or ""):
        raise TamperedArtifact(f"the artifact of {model} v{number} does not match its checksum")
    expected = sign(data, owner_id=owner_id, model=model, number=number)
    if not hmac.compare_digest(expected, signature or ""):
        raise TamperedArtifact(f"the artifact of {model} v{number} is not signed by its owner")


def unpack(data: bytes) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (ValueError, OSError) as exc:  # a signed but unreadable file: still refused
        raise TamperedArtifact(f"the artifact is not a readable array file: {exc}") from None
