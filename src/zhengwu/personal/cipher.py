"""Encryption of personal fields at rest: AES-256-GCM with a key kept outside the database.

- ``FieldCipher.encrypt``: for fields stored in a database (ID numbers), with ``ZHENGWU_DATA_KEY``.
- ``FieldCipher.blind_index``: a keyed hash that lets the store look a person up by ID number without keeping
  the number in clear (equal inputs give equal indexes; without the key nobody can test a guess).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import unicodedata
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["DATA_KEY_ENV", "FieldCipher"]

# --- field encryption ------------------------------------------------------------------------------------------

DATA_KEY_ENV = "ZHENGWU_DATA_KEY"
_CIPHERTEXT_PREFIX = "v1:"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_BLIND_INDEX_INFO = b"zhengwu blind index v1"
_KEY_HELP = (
    'create one with: python -c "import os,base64;print(base64.urlsafe_b64encode(os.urandom(32)).decode())" '
    "and keep it outside the database (losing it makes the stored personal data unreadable)"
)


def _decode_key(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional."""
    cleaned = "".join(text.split()).replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    return base64.b64decode(cleaned, validate=True)


class FieldCipher:
    """AES-256-GCM for single database fields, and a keyed blind index for looking values up.

    Ciphertexts are text, ``v1:`` + URL-safe base64 of (12-byte random nonce + ciphertext + tag), so they fit
    any string column and a future format can be told apart by its prefix.
    """

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != 32:
            raise ValueError(f"the data key must be 32 bytes (AES-256); {_KEY_HELP}")
        self._aead = AESGCM(key)
        index_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_BLIND_INDEX_INFO).derive(key)
        self._index_key = index_key

    def __repr__(self) -> str:
        return "FieldCipher(key=<hidden>)"

    @staticmethod
    def generate_key() -> str:
        """A new random key, URL-safe base64, for ``ZHENGWU_DATA_KEY``."""
        return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, name: str = DATA_KEY_ENV) -> FieldCipher:
        """The cipher for the key in ``ZHENGWU_DATA_KEY``; a missing or malformed key is a ``ValueError`` that
        tells the operator how to create one."""
        value = (os.environ if environ is None else environ).get(name, "").strip()
        if not value:
            raise ValueError(f"{name} is not set: personal data cannot be encrypted without it; {_KEY_HELP}")
        try:
            key = _decode_key(value)
        except (binascii.Error, ValueError):
            raise ValueError(f"{name} is not valid base64; {_KEY_HELP}") from None
        if len(key) != 32:
            raise ValueError(f"{name} decodes to {len(key)} bytes, expected 32; {_KEY_HELP}")
        return cls(key)

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), None)
        return _CIPHERTEXT_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str) -> str:
        if not isinstance(token, str) or not token.startswith(_CIPHERTEXT_PREFIX):
            raise ValueError("not an encrypted field: expected text starting with 'v1:'")
        body = token[len(_CIPHERTEXT_PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise ValueError("encrypted field is damaged: not valid base64") from None
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise ValueError("encrypted field is damaged: too short")
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None)
        except InvalidTag:
            raise ValueError(
                "cannot decrypt field: it was altered, or it was encrypted with a different ZHENGWU_DATA_KEY"
            ) from None
        return plain.decode("utf-8")

    def blind_index(self, value: str) -> str:
        """Hex HMAC-SHA256 of the normalised value (NFKC width folding, trimmed, upper-case, so ``x`` and ``X``
        in an ID number agree) under a subkey derived from the data key with HKDF."""
        normalised = unicodedata.normalize("NFKC", value).strip().upper()
        return hmac.new(self._index_key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()
