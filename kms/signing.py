"""The keys that sign the audit log's tree heads and receipts: Ed25519 and ML-DSA-65,
both derived from the master key (`derive`), so they are never stored and a verifier
needs only the public halves (`public()`, published by the public-keys API). A signature
is valid only when both verify: an attacker must break both schemes to forge one."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa

from kms.provider import MasterKeyProvider


@dataclass(frozen=True)
class SigningKeys:
    ed25519: ed25519.Ed25519PrivateKey
    mldsa65: mldsa.MLDSA65PrivateKey
    key_id: str

    def public(self) -> dict:
        return {
            "key_id": self.key_id,
            "ed25519": base64.b64encode(self.ed25519.public_key().public_bytes_raw()).decode(),
            "ml_dsa_65": base64.b64encode(self.mldsa65.public_key().public_bytes_raw()).decode(),
        }

    def sign(self, message: bytes) -> tuple[bytes, bytes]:
        return self.ed25519.sign(message), self.mldsa65.sign(message)

    def verify(self, message: bytes, sig_ed25519: bytes, sig_mldsa: bytes) -> bool:
        try:
            self.ed25519.public_key().verify(bytes(sig_ed25519), message)
            self.mldsa65.public_key().verify(bytes(sig_mldsa), message)
        except (InvalidSignature, ValueError):
            return False
        return True


@lru_cache(maxsize=8)
def signing_keys(provider: MasterKeyProvider) -> SigningKeys:
    ed = ed25519.Ed25519PrivateKey.from_private_bytes(provider.derive(b"sign/ed25519", 32))
    ml = mldsa.MLDSA65PrivateKey.from_seed_bytes(provider.derive(b"sign/mldsa65", 32))
    key_id = hashlib.sha256(
        ed.public_key().public_bytes_raw() + ml.public_key().public_bytes_raw()
    ).hexdigest()[:16]
    return SigningKeys(ed, ml, key_id)
