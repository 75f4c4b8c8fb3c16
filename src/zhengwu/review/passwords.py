"""Staff passwords: salted scrypt (memory-hard, in the standard library), compared in constant time.

The stored form names its parameters (``scrypt$16384$8$1$<salt>$<hash>``), so they can be raised later
without invalidating existing accounts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

SCRYPT_N = 2**14  # 16 MB of memory per guess with r=8: about 50 ms here, expensive for an attacker's GPU
SCRYPT_R = 8
SCRYPT_P = 1
KEY_BYTES = 32
SALT_BYTES = 16
MIN_LENGTH = 10


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable (English, for the operator), or None."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if len(password) > 1024:
        return "a password may have at most 1024 characters"
    if len(set(password)) < 4:
        return "a password needs at least 4 different characters"
    return None


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=64 * 1024**2)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    salt = os.urandom(SALT_BYTES)
    digest = _derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` gives ``stored``; any malformed stored value is simply a mismatch."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """Checked against when the user name is unknown, so that a wrong name takes as long as a wrong password
    (the response time must not tell which user names exist)."""
    return hash_password(os.urandom(16).hex())
