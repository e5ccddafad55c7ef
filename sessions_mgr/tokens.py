"""The session token: versioned, opaque to clients, MAC'd with the tenant's key.

    dst1.<tenant>.<session>.<generation>.<key version>.<level>.<issued ms>.<expires s>
        .<secret>.<mac>[.<sig>]          (one line, no spaces; <sig> at the quantum
                                          level only, and required there)

- `dst1`: format version; a future format gets a new prefix and both parse during a
  migration.
- `secret`: 128 random bits, so a token is unguessable even knowing every other field.
- `mac`: HMAC-SHA256 over everything before it, with the tenant's derived key
  (keys.py). It lets a process validate the token without the database: only we can
  produce it, and the tenant inside it cannot be changed.
- `sig` (quantum level only): ML-DSA-65 signature over the same bytes, which third
  parties verify offline with the tenant's public key (`/api/v1/sessions/keys/`).

The database stores only the SHA-256 of the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sessions_mgr import keys

PREFIX = "dst1"
_LEVEL_CODES = {"standard": "s", "high": "h", "critical": "c", "quantum": "q"}
_CODE_LEVELS = {v: k for k, v in _LEVEL_CODES.items()}
SIG_CHARS = 4412  # ML-DSA-65 signatures are 3309 bytes, base64url without padding
# One spelling per token: numbers without leading zeros, lowercase hex, base64url
# without padding whose spare bits are zero (the secret is 16 bytes in 22 characters,
# 4 spare bits; the MAC 32 bytes in 43, 2 spare bits), and the signature on the quantum
# level only, where it is required. Anything else is `malformed`.
_FIELDS = (
    r"dst1\.([1-9][0-9]{0,11})\.([0-9a-f]{32})\.(0|[1-9][0-9]{0,8})\.([1-9][0-9]{0,5})"
    r"\.([shcq])\.(0|[1-9][0-9]{0,12})\.(0|[1-9][0-9]{0,11})"
    r"\.([A-Za-z0-9_-]{21}[AQgw])\.([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])"
    rf"(?:\.([A-Za-z0-9_-]{{{SIG_CHARS}}}))?"
)
_TOKEN_RE = re.compile(_FIELDS)
# dst1 + tenant 12 + session 32 + generation 9 + key version 6 + level 1 + issued 13
# + expires 12 + secret 22 + mac 43, and 9 dots; the quantum level adds "." + signature.
MAX_LENGTH_UNSIGNED = 4 + 12 + 32 + 9 + 6 + 1 + 13 + 12 + 22 + 43 + 9
MAX_LENGTH = MAX_LENGTH_UNSIGNED + 1 + SIG_CHARS
SIGNED_CODE = _LEVEL_CODES["quantum"]


class TokenError(Exception):
    """A refused token. `reason` is the machine-readable code the API returns."""

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason
        self.message = message or reason.replace("_", " ")


@dataclass(slots=True)  # not frozen: frozen __init__ costs ~1 µs per token
class ParsedToken:
    tenant_id: int
    session_id: str
    generation: int
    key_version: int
    level: str
    issued_at: int  # milliseconds
    expires_at: int  # seconds
    payload: str  # the MAC'd (and signed) part
    mac: str
    signature: str | None


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(raw: bytes) -> str:
    # base64url without padding, in two C calls (the validation hot path runs it).
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE, b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compute_mac(tenant_id: int, key_version: int, payload: str) -> str:
    return _b64(hmac.digest(keys.mac_key(tenant_id, key_version), payload.encode(), "sha256"))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mint(
    *,
    tenant_id: int,
    session_id: str,
    generation: int,
    key_version: int,
    level: str,
    issued_at: int,
    expires_at: int,
    signed: bool = False,
) -> str:
    payload = ".".join(
        [
            PREFIX,
            str(tenant_id),
            session_id,
            str(generation),
            str(key_version),
            _LEVEL_CODES[level],
            str(issued_at),
            str(expires_at),
            _b64(secrets.token_bytes(16)),
        ]
    )
    token = f"{payload}.{compute_mac(tenant_id, key_version, payload)}"
    if signed:
        token += "." + _b64(keys.signing_key(tenant_id, key_version).sign(payload.encode()))
    return token


def parse(token) -> ParsedToken:
    """Syntax only (no key needed): exactly the fields of the token's level, each in its
    one canonical spelling. Raises TokenError('malformed')."""
    if not isinstance(token, str) or len(token) > MAX_LENGTH:
        raise TokenError("malformed", "The token is not a session token.")
    match = _TOKEN_RE.fullmatch(token)
    if match is None:
        raise TokenError("malformed", "The token is not a session token.")
    tid, sid, gen, kv, lvl, iat, exp, _secret, mac, sig = match.groups()
    if (lvl == SIGNED_CODE) != (sig is not None):
        # A signature belongs to the quantum level and only there: appended to another
        # level it is not "ignored", the token is not ours.
        raise TokenError("malformed", "The token is not a session token.")
    payload_end = match.start(9) - 1
    return ParsedToken(
        int(tid),
        sid,
        int(gen),
        int(kv),
        _CODE_LEVELS[lvl],
        int(iat),
        int(exp),
        token[:payload_end],
        mac,
        sig,
    )


def check_mac(parsed: ParsedToken, *, accepted_version: bool = True) -> None:
    """`accepted_version` False: the token names a version that is not accepted (or not
    known); its key is derived without being cached."""
    if accepted_version:
        expected = compute_mac(parsed.tenant_id, parsed.key_version, parsed.payload)
    else:
        key = keys.mac_key_uncached(parsed.tenant_id, parsed.key_version)
        expected = _b64(hmac.digest(key, parsed.payload.encode(), "sha256"))
    if not hmac.compare_digest(expected, parsed.mac):
        raise TokenError("bad_signature", "The token's signature does not verify.")


def verify_offline(token: str, public_key: bytes) -> ParsedToken:
    """What a third party does with a quantum-level token and the tenant's published
    public key: no shared secret, no call to us. Raises TokenError."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PublicKey

    parsed = parse(token)
    if parsed.signature is None:
        raise TokenError("unsigned", "Only quantum-level tokens carry a public signature.")
    try:
        MLDSA65PublicKey.from_public_bytes(public_key).verify(
            _unb64(parsed.signature), parsed.payload.encode()
        )
    except (InvalidSignature, ValueError):
        raise TokenError("bad_signature", "The ML-DSA-65 signature does not verify.")
    return parsed
