"""How content is stored: canonical JSON, compressed with zstd from a size threshold
(setting METADATA_COMPRESS_MIN_BYTES), and sealed with the tenant's key when the record
is sensitive. A row's `codec` says which steps its `body` went through:

    plain JSON  -> [zstd if big enough] -> [sealed if sensitive] -> body

Compression comes before sealing (ciphertext does not compress). Sealing is asked of
the security feature through `tenancy.hooks` (this feature may not import it); the
envelope is bound to the tenant, the model, the column and the row, so a sealed body
copied into another row or tenant does not open. The columns are announced through
`tenancy.hooks.sealed_columns` (providers.py), so a key rewrap moves them to a new key
version.
"""

from __future__ import annotations

import json
import threading

import zstandard
from django.conf import settings

from kms.exceptions import CryptoError
from metadata_mgr.exceptions import MetadataError
from tenancy import hooks

ZSTD = 1
SEALED = 2
ZSTD_LEVEL = 3  # zstd's default: most of the ratio at a fraction of the CPU of higher ones
_AAD_PREFIX = b"dim/metadata/v1"


_local = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    # One per thread (a compressor is not thread-safe): `zstandard.compress` builds a
    # new one, with its context, per call, which a bulk import pays per record.
    found = getattr(_local, "zstd", None)
    if found is None:
        found = _local.zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return found


def compress_min_bytes() -> int:
    return int(getattr(settings, "METADATA_COMPRESS_MIN_BYTES", 1024))


def canonical(value) -> bytes:
    """Canonical JSON (sorted keys, no spaces, UTF-8): what is stored, measured and
    fingerprinted. Values JSON cannot carry are a 400."""
    try:
        return json.dumps(
            value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False
        ).encode()
    except (TypeError, ValueError) as exc:
        raise MetadataError(400, "invalid_json", f"The content is not JSON: {exc}.") from None
    except RecursionError:
        raise MetadataError(400, "invalid_json", "The content is nested too deeply.") from None


def encode_plain(value, data: bytes | None = None) -> tuple[bytes, int]:
    """(bytes, codec) of `value` without sealing: compressed when large enough."""
    data = canonical(value) if data is None else data
    if len(data) >= compress_min_bytes():
        return _compressor().compress(data), ZSTD
    return data, 0


def aad(tenant_id: int, model_label: str, column: str, row_id) -> bytes:
    """What a sealed body is bound to; every part is length-prefixed (unambiguous)."""
    parts = [_AAD_PREFIX, str(tenant_id).encode(), model_label.encode(), column.encode()]
    parts.append(str(row_id).encode())
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def row_aad(row, column: str) -> bytes:
    return aad(row.tenant_id, row._meta.label_lower, column, row.pk)


def _crypto_error(exc: CryptoError, doing: str) -> MetadataError:
    return MetadataError(
        409,
        getattr(exc, "code", "crypto_error"),
        f"The tenant's key could not {doing} this sensitive record: {exc}",
    )


def encode(value, *, sensitive: bool, bound_to: bytes | None, data: bytes | None = None):
    """(body, codec, plain JSON size) of `value`; sealed with the tenant's key, bound to
    `bound_to` (see `aad`), when `sensitive`."""
    data = canonical(value) if data is None else data
    body, codec = encode_plain(value, data)
    if sensitive:
        try:
            body = hooks.seal_tenant_value.call(body, bound_to)
        except CryptoError as exc:
            raise _crypto_error(exc, "seal") from None
        codec |= SEALED
    return body, codec, len(data)


def encode_into(row, column: str, value, *, sensitive: bool, data: bytes | None = None) -> int:
    """Encode `value` into `row.<column>` and `row.codec`; returns the plain JSON size.
    The row's tenant and primary key must be set (they bind the seal)."""
    bound_to = row_aad(row, column) if sensitive else None
    body, codec, size = encode(value, sensitive=sensitive, bound_to=bound_to, data=data)
    setattr(row, column, body)
    row.codec = codec
    return size


def decode(body, codec: int, bound_to: bytes | None = None):
    data = bytes(body)
    if codec & SEALED:
        try:
            data = hooks.open_tenant_value.call(data, bound_to)
        except CryptoError as exc:
            raise _crypto_error(exc, "open") from None
    if codec & ZSTD:
        data = zstandard.decompress(data)
    return json.loads(data)


def decode_body(row, column: str):
    codec = row.codec
    return decode(getattr(row, column), codec, row_aad(row, column) if codec & SEALED else None)
