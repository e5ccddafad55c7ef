"""The export archive's format (issue 16, GDPR Art. 15/20): what a data subject receives,
and how to open it with the key they were given when they asked for it.

An archive is a header and a sequence of frames; each frame is one piece of one file
(`manifest.json`, `audit/proofs.json`, `<app>.<Model>.jsonl`, ...), compressed (zstd)
and sealed with AES-256-GCM under the export's own key, bound (associated data) to the
export, its position and its file name: a frame moved, renamed or taken from another
export does not open. The manifest, last, lists for each file its rows and the SHA-256
of each piece's plain bytes, and of the whole file.

    archive := MAGIC header_len:u32 header_json frame*
    frame   := name_len:u16 name position:u32 body_len:u64 body
    body    := nonce(12) AES-GCM(zstd(plain))

`read_archive(data, key)` opens it and checks every hash against the manifest."""

from __future__ import annotations

import hashlib
import json
import os
import struct

import zstandard
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"DIMEXPORT1\n"
MANIFEST = "manifest.json"
PROOFS = "audit/proofs.json"
CIPHER = "AES-256-GCM"


class ArchiveInvalid(ValueError):
    """The archive does not open with this key, or a piece does not match the manifest."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _aad(export_id: int, position: int, name: str) -> bytes:
    return f"dim-export:{export_id}:{position}:{name}".encode()


def seal(key: bytes, export_id: int, position: int, name: str, plain: bytes) -> bytes:
    nonce = os.urandom(12)
    packed = zstandard.ZstdCompressor(level=1).compress(plain)
    return nonce + AESGCM(key).encrypt(nonce, packed, _aad(export_id, position, name))


def unseal(key: bytes, export_id: int, position: int, name: str, body: bytes) -> bytes:
    try:
        packed = AESGCM(key).decrypt(body[:12], body[12:], _aad(export_id, position, name))
    except Exception as exc:  # InvalidTag, a short body: the same answer
        raise ArchiveInvalid(f"piece {position} ({name}) does not open with this key") from exc
    return zstandard.ZstdDecompressor().decompress(packed)


def header(export_id: int) -> bytes:
    data = json.dumps({"format": 1, "export": export_id, "cipher": CIPHER}).encode()
    return MAGIC + struct.pack(">I", len(data)) + data


def frame(position: int, name: str, body: bytes) -> bytes:
    encoded = name.encode()
    return (
        struct.pack(">H", len(encoded)) + encoded + struct.pack(">IQ", position, len(body)) + body
    )


def file_digest(piece_hashes: list[str]) -> str:
    """A file's hash from its pieces' hashes, in order (pieces are hashed as they are
    written, by whichever worker writes them: no hash state survives between steps)."""
    return hashlib.sha256("".join(piece_hashes).encode()).hexdigest()


def _frames(data: bytes):
    if not data.startswith(MAGIC):
        raise ArchiveInvalid("not an export archive")
    at = len(MAGIC)
    (size,) = struct.unpack_from(">I", data, at)
    meta = json.loads(data[at + 4 : at + 4 + size])
    at += 4 + size
    while at < len(data):
        (name_len,) = struct.unpack_from(">H", data, at)
        name = data[at + 2 : at + 2 + name_len].decode()
        position, body_len = struct.unpack_from(">IQ", data, at + 2 + name_len)
        at += 2 + name_len + 12
        yield meta["export"], position, name, data[at : at + body_len]
        at += body_len


def read_archive(data: bytes, key: bytes) -> dict[str, bytes]:
    """{file name: plain bytes}, every piece opened and checked against the manifest."""
    files: dict[str, list[bytes]] = {}
    for export_id, position, name, body in _frames(data):
        files.setdefault(name, []).append(unseal(key, export_id, position, name, body))
    if MANIFEST not in files:
        raise ArchiveInvalid("the archive has no manifest")
    manifest = json.loads(b"".join(files[MANIFEST]))
    for name, entry in manifest["files"].items():
        pieces = files.get(name, [])
        hashes = [hashlib.sha256(p).hexdigest() for p in pieces]
        if hashes != entry["pieces"] or file_digest(hashes) != entry["sha256"]:
            raise ArchiveInvalid(f"{name} does not match the manifest")
    return {name: b"".join(pieces) for name, pieces in files.items()}
