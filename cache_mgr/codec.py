"""The byte format of values in the shared tier (Redis): signed, compressed when large.

Django's Redis cache unpickles whatever it finds under a key, so anyone who can write to
Redis can run code in every web process. Here every blob carries an HMAC-SHA256 over its
flags and payload, keyed from SECRET_KEY, and a blob whose tag does not verify is
refused (`TamperedValue`) before `pickle.loads` ever sees it: we only ever unpickle what
a process holding our secret wrote. Payloads above `CACHE_COMPRESS_MIN_BYTES` are
compressed with zstd (level 3: ~400 MB/s here, ratio ~3–5 on JSON-like values).

Layout: b"C1" | flags (1 byte: 1 = zstd) | tag (32 bytes) | payload.
"""

from __future__ import annotations

import hashlib
import hmac
import pickle

import zstandard
from django.conf import settings

from tenancy import resettable

MAGIC = b"C1"
ZSTD = 1
_HEADER = len(MAGIC) + 1 + 32
_key: bytes | None = None
_compressor = zstandard.ZstdCompressor(level=3)
_decompressor = zstandard.ZstdDecompressor()


class TamperedValue(ValueError):
    """A shared-tier blob that was not written by this deployment (or was altered)."""


def _signing_key() -> bytes:
    global _key
    if _key is None:
        _key = hashlib.sha256(b"dim.cache_mgr.codec|" + settings.SECRET_KEY.encode()).digest()
    return _key


@resettable.register
def reset() -> None:
    global _key
    _key = None


def dumps(value) -> bytes:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    flags = 0
    if len(payload) >= getattr(settings, "CACHE_COMPRESS_MIN_BYTES", 1024):
        packed = _compressor.compress(payload)
        if len(packed) < len(payload):
            payload, flags = packed, ZSTD
    head = bytes([flags])
    tag = hmac.new(_signing_key(), head + payload, hashlib.sha256).digest()
    return MAGIC + head + tag + payload


def loads(blob: bytes):
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise TamperedValue("not a cache_mgr blob")
    blob = bytes(blob)
    if len(blob) < _HEADER or blob[:2] != MAGIC:
        raise TamperedValue("not a cache_mgr blob (bad header)")
    head, tag, payload = blob[2:3], blob[3:_HEADER], blob[_HEADER:]
    expected = hmac.new(_signing_key(), head + payload, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, expected):
        raise TamperedValue("signature mismatch: refusing to unpickle")
    if head[0] & ZSTD:
        payload = _decompressor.decompress(payload)
    return pickle.loads(payload)  # noqa: S301  (verified above: written by us)
