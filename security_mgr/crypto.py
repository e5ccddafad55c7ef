"""Primitives: data-key wrapping (classical and hybrid post-quantum), the ciphertext
envelope and AES-256-GCM with bound associated data. (The tree-head signing keys are
derived from the master key in `kms.signing`.)

Hybrid wrapping follows the TLS `X25519MLKEM768` construction: an ML-KEM-768
encapsulation and an ephemeral X25519 exchange against the tenant's static key pair,
their shared secrets concatenated (ML-KEM first, as in the TLS draft) and fed to
HKDF-SHA256 with the whole transcript (both ciphertexts and the recipient's public keys)
as context. The data key is then sealed with AES-256-GCM under the derived key. An
attacker must break both X25519 and ML-KEM-768 to recover it.

The tenant's static KEM key pairs are derived from the master KEK (`derive`), so they
are never stored and disappear with the KEK.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import struct
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kms import MasterKeyProvider
from security_mgr.exceptions import DecryptionFailed, MalformedCiphertext

NONCE = 12
TAG = 16
MLKEM768_CT = 1088
X25519_PUB = 32

WRAP_CLASSICAL = "kek-aes256gcm"
WRAP_HYBRID = "x25519-mlkem768"


# --- hybrid KEM ---------------------------------------------------------------------


@dataclass(frozen=True)
class HybridKeyPair:
    x25519: x25519.X25519PrivateKey
    mlkem: mlkem.MLKEM768PrivateKey

    def public_bytes(self) -> tuple[bytes, bytes]:
        return (
            self.x25519.public_key().public_bytes_raw(),
            self.mlkem.public_key().public_bytes_raw(),
        )


def hybrid_keypair(provider: MasterKeyProvider, owner: str) -> HybridKeyPair:
    """The static hybrid key pair of `owner` (e.g. "tenant:42"), derived from the KEK."""
    return _hybrid_keypair_cached(provider, owner)


@lru_cache(maxsize=1024)
def _hybrid_keypair_cached(provider: MasterKeyProvider, owner: str) -> HybridKeyPair:
    label = f"kem/{owner}".encode()
    x_seed = provider.derive(label + b"/x25519", 32)
    k_seed = provider.derive(label + b"/mlkem768", 64)
    return HybridKeyPair(
        x25519.X25519PrivateKey.from_private_bytes(x_seed),
        mlkem.MLKEM768PrivateKey.from_seed_bytes(k_seed),
    )


def _combine(ss_kem: bytes, ss_x: bytes, transcript: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"dim/hybrid-wrap/v1" + transcript
    ).derive(ss_kem + ss_x)


def hybrid_wrap(pair: HybridKeyPair, secret: bytes, aad: bytes) -> bytes:
    """-> mlkem_ct (1088) || ephemeral X25519 public (32) || nonce (12) || sealed key."""
    x_pub, k_pub = pair.public_bytes()
    ss_kem, kem_ct = pair.mlkem.public_key().encapsulate()
    eph = x25519.X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes_raw()
    ss_x = eph.exchange(pair.x25519.public_key())
    kek = _combine(ss_kem, ss_x, kem_ct + eph_pub + x_pub + k_pub)
    nonce = os.urandom(NONCE)
    return kem_ct + eph_pub + nonce + AESGCM(kek).encrypt(nonce, secret, aad)


def hybrid_unwrap(pair: HybridKeyPair, blob: bytes, aad: bytes) -> bytes:
    head = MLKEM768_CT + X25519_PUB + NONCE
    if len(blob) < head + TAG:
        raise MalformedCiphertext("hybrid-wrapped key is too short")
    kem_ct = blob[:MLKEM768_CT]
    eph_pub = blob[MLKEM768_CT : MLKEM768_CT + X25519_PUB]
    nonce = blob[MLKEM768_CT + X25519_PUB : head]
    x_pub, k_pub = pair.public_bytes()
    try:
        ss_kem = pair.mlkem.decapsulate(kem_ct)
        ss_x = pair.x25519.exchange(x25519.X25519PublicKey.from_public_bytes(eph_pub))
    except ValueError as exc:
        raise MalformedCiphertext(f"hybrid-wrapped key: {exc}") from None
    kek = _combine(ss_kem, ss_x, kem_ct + eph_pub + x_pub + k_pub)
    try:
        return AESGCM(kek).decrypt(nonce, blob[head:], aad)
    except InvalidTag:
        # ML-KEM decapsulation never fails (implicit rejection): a bad blob shows here.
        raise DecryptionFailed("hybrid-wrapped key does not authenticate") from None


# --- ciphertext envelopes ------------------------------------------------------------
#
# The key version travels with the ciphertext (as in Vault's `vault:v1:`), so rotation
# never needs a rewrite before old data can still be read. Two encodings of the same
# (version, nonce, ciphertext || tag), convertible both ways without a key:
#
#   binary (what encrypted columns store, bytea / BLOB), 20-byte header:
#     b"DIM" | format (1 byte, = 1) | version (4 bytes, big-endian) | nonce (12) | sealed
#   text (what people and APIs see; the transit API, dumpdata):
#     dim:v<version>:<base64url(nonce || ciphertext || tag), unpadded>
#
# The binary form is parsed by one struct unpack and a slice: no regex, no base64, which
# on the hot path cost more than the AES-GCM itself.

PREFIX = "dim:v"
_ENVELOPE = re.compile(r"dim:v([1-9][0-9]{0,8}):([A-Za-z0-9_-]+)")
MAX_ENVELOPE = 64 * 1024 * 1024
MAX_VERSION = 999_999_999  # nine digits in the text form: every binary converts to text
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

MAGIC = b"DIM"
FORMAT = 1
_HEAD = struct.Struct(">4sI12s")  # magic + format, version, nonce
HEADER = _HEAD.size  # 20
MIN_BINARY = HEADER + TAG
_MAGIC_FORMAT = MAGIC + bytes([FORMAT])
_TEXT_PREFIX = PREFIX.encode()


def binary_header(version: int) -> bytes:
    """The 8 bytes before the nonce; key rings keep one per loaded version."""
    if not 0 < version <= MAX_VERSION:
        raise MalformedCiphertext(f"key version {version} is out of range 1..{MAX_VERSION}")
    return _MAGIC_FORMAT + version.to_bytes(4, "big")


@dataclass(frozen=True)
class Envelope:
    version: int
    nonce: bytes
    sealed: bytes  # ciphertext || tag

    def dumps(self) -> str:
        """The text form."""
        body = base64.urlsafe_b64encode(self.nonce + self.sealed).rstrip(b"=").decode()
        return f"{PREFIX}{self.version}:{body}"

    def to_bytes(self) -> bytes:
        """The binary form."""
        return binary_header(self.version) + self.nonce + self.sealed


def split_envelope(data) -> tuple[int, bytes, bytes]:
    """(version, nonce, sealed) of a binary or text envelope; strict. The hot path: a
    well-formed binary envelope costs one unpack and one slice."""
    if type(data) is bytes and len(data) >= MIN_BINARY:
        head, version, nonce = _HEAD.unpack_from(data)
        if head == _MAGIC_FORMAT and 0 < version <= MAX_VERSION:
            return version, nonce, data[HEADER:]
    envelope = parse_envelope(data)
    return envelope.version, envelope.nonce, envelope.sealed


def parse_envelope(data) -> Envelope:
    """Strict parser of both forms: anything else raises MalformedCiphertext naming why.
    Bytes starting with `dim:v` are a text envelope (legacy rows of a text column)."""
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if isinstance(data, bytes):
        if data.startswith(_TEXT_PREFIX):
            try:
                return _parse_text(data.decode("ascii"))
            except UnicodeDecodeError:
                raise MalformedCiphertext("ciphertext is not ASCII") from None
        return _parse_binary(data)
    if isinstance(data, str):
        return _parse_text(data)
    raise MalformedCiphertext(f"ciphertext must be bytes or a string, not {type(data).__name__}")


def _parse_binary(data: bytes) -> Envelope:
    if len(data) > MAX_ENVELOPE:
        raise MalformedCiphertext("ciphertext is too long")
    if not data.startswith(MAGIC):
        raise MalformedCiphertext("ciphertext is not a DIM binary envelope (wrong magic)")
    if len(data) < 4:
        raise MalformedCiphertext("ciphertext is too short to hold its header")
    if data[3] != FORMAT:
        raise MalformedCiphertext(f"ciphertext has an unknown envelope format {data[3]}")
    if len(data) < HEADER:
        raise MalformedCiphertext("ciphertext is too short to hold its header")
    _head, version, nonce = _HEAD.unpack_from(data)
    if version == 0:
        raise MalformedCiphertext("ciphertext names key version 0, which does not exist")
    if version > MAX_VERSION:
        raise MalformedCiphertext(f"ciphertext names key version {version}, above the maximum")
    if len(data) < MIN_BINARY:
        raise MalformedCiphertext("ciphertext is too short to hold a nonce and a tag")
    return Envelope(version, nonce, data[HEADER:])


def _parse_text(text: str) -> Envelope:
    if len(text) > MAX_ENVELOPE:
        raise MalformedCiphertext("ciphertext is too long")
    match = _ENVELOPE.fullmatch(text)
    if match is None:
        raise MalformedCiphertext("ciphertext is not a dim:v<version>:<data> envelope")
    body = match.group(2)
    if len(body) % 4 == 1:
        raise MalformedCiphertext("ciphertext data has an impossible base64 length")
    # Non-canonical encodings (stray low bits in the last character) would make two
    # strings decrypt alike: the unused bits must be zero.
    spare = {2: 0x0F, 3: 0x03}.get(len(body) % 4, 0)
    if spare and _B64URL.index(body[-1]) & spare:
        raise MalformedCiphertext("ciphertext data is not canonical base64url")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise MalformedCiphertext("ciphertext data is not base64url") from None
    if len(raw) < NONCE + TAG:
        raise MalformedCiphertext("ciphertext is too short to hold a nonce and a tag")
    return Envelope(int(match.group(1)), raw[:NONCE], raw[NONCE:])


def to_binary(envelope) -> bytes:
    """Either form -> the binary form (same version, nonce and ciphertext; no key)."""
    if type(envelope) is bytes and envelope.startswith(_MAGIC_FORMAT):
        parse_envelope(envelope)  # still strict
        return envelope
    return parse_envelope(envelope).to_bytes()


def to_text(envelope) -> str:
    """Either form -> the text form `dim:v<N>:...` (no key needed)."""
    return parse_envelope(envelope).dumps()


def seal(aead: AESGCM, version: int, plaintext: bytes, aad: bytes) -> str:
    """Text envelope (transit)."""
    nonce = os.urandom(NONCE)
    return Envelope(version, nonce, aead.encrypt(nonce, plaintext, aad)).dumps()


def seal_binary(aead: AESGCM, version: int, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    return binary_header(version) + nonce + aead.encrypt(nonce, plaintext, aad)


DECRYPTION_FAILED = (
    "ciphertext does not authenticate: it was altered, or it belongs to another "
    "tenant, model, field or row (associated data mismatch)"
)


def open_sealed(aead: AESGCM, envelope: Envelope, aad: bytes) -> bytes:
    try:
        return aead.decrypt(envelope.nonce, envelope.sealed, aad)
    except InvalidTag:
        raise DecryptionFailed(DECRYPTION_FAILED) from None


@lru_cache(maxsize=8192)
def associated_data(
    tenant_id: int, model: str, field: str, row: object, subject: str = ""
) -> bytes:
    """What a ciphertext is bound to. Unambiguous: every part is length-prefixed."""
    parts = [b"dim/aad/v1", str(tenant_id).encode(), model.encode(), field.encode()]
    parts += [str(row).encode(), subject.encode()]
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)
