"""The head row's seal: an HMAC over (log, size, root) under a key derived from the
master key, written by the sequencer with every batch.

The head row says how far the sequencer got. Without a seal, someone with write access
to the tables (the owner role, a restored dump) could append an entry with its leaf,
root and nodes computed correctly, move the head row along, and nothing would tell it
from the sequencer's work until a signed tree head covered it: and the next signing
would have covered it. The seal needs the master key, which the database never holds,
so the sequencer and the signer refuse to extend or sign a head row they did not write,
and verification names every entry beyond the sealed size. Signed tree heads remain
what outsiders check; the seal only closes the gap between two of them (docs/audit.md:
what an attacker with the owner role can still do).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import struct

from kms import get_master_key_provider


@functools.lru_cache(maxsize=8)
def _key(provider) -> bytes:
    return provider.derive(b"audit/head-seal/v1", 32)


def head_seal(label: str, size: int, root: bytes) -> bytes:
    message = b"dim/head/v1\0" + label.encode() + b"\0" + struct.pack(">Q", size) + root
    return hmac.new(_key(get_master_key_provider()), message, hashlib.sha256).digest()


def seal_matches(label: str, size: int, root: bytes, seal) -> bool:
    return bool(seal) and hmac.compare_digest(bytes(seal), head_seal(label, size, root))
