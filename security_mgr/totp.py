"""RFC 6238 TOTP (HMAC-SHA1, 30 s steps), the algorithm every authenticator app speaks.
Written out rather than imported: it is a dozen lines, and the replay guard needs the
matched time step, which libraries tend to hide."""

from __future__ import annotations

import base64
import hmac
import os
import struct
import time
from urllib.parse import quote, urlencode

from django.utils.translation import gettext as _

STEP = 30
DIGITS = 6


def new_secret() -> str:
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    secret = secret.strip().replace(" ", "").upper()
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), "sha1").digest()
    offset = mac[-1] & 0x0F
    code = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


def normalize(code) -> str:
    """Digits only, or ValueError naming the problem (the API turns it into a 400)."""
    if not isinstance(code, str):
        raise ValueError(_("the code must be a string of digits"))
    code = code.replace(" ", "")
    if not (code.isascii() and code.isdigit()) or len(code) not in (6, 8):
        raise ValueError(_("the code must be 6 or 8 digits"))
    return code


def match(secret: str, code: str, *, now: float | None = None, window: int = 1) -> int | None:
    """The time step the code belongs to (within ±window steps), or None."""
    code = normalize(code)
    key = _key(secret)
    current = int((time.time() if now is None else now) // STEP)
    for counter in range(current - window, current + window + 1):
        if hmac.compare_digest(hotp(key, counter, len(code)), code):
            return counter
    return None


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    query = urlencode({"secret": secret, "issuer": issuer, "digits": DIGITS, "period": STEP})
    return f"otpauth://totp/{quote(issuer)}:{quote(account)}?{query}"
