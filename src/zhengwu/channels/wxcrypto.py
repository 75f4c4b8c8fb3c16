"""The message crypto of WeChat Official Accounts (公众号) and WeCom (企业微信): Tencent's WXBizMsgCrypt protocol.

Both platforms sign every callback with the Token the operator configured and, in 安全模式 (WeCom: always),
encrypt the message with the EncodingAESKey:

* signature (URL verification, plaintext mode): ``sha1("".join(sorted([token, timestamp, nonce])))``;
* ``msg_signature``: the same over ``[token, timestamp, nonce, encrypt]``;
* EncodingAESKey: 43 characters, ``base64decode(key + "=")`` gives the 32-byte AES-256 key; CBC mode with the
  first 16 key bytes as IV; PKCS#7 padding to a multiple of **32** bytes (pad values 1..32);
* plaintext buffer: 16 random bytes + message length (4 bytes, network order) + message (UTF-8) + receive id
  (the AppID of an Official Account, the CorpID of a WeCom corporation).

Decryption checks the padding, the length and that the buffer ends with our receive id; anything else is a
``WXCryptoError`` carrying a short machine-readable ``reason``. Callbacks older or newer than ``max_skew``
seconds are refused (replay protection). XML from the platform is untrusted: it is parsed only with
``defusedxml`` and any DTD is refused, so entity tricks (XXE, "billion laughs") fail as ``malformed``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import struct
import time
from collections.abc import Callable
from xml.etree.ElementTree import Element, ParseError

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import SecretStr

from zhengwu.config import secret as secret_text

BLOCK_SIZE = 32  # PKCS#7 block of the protocol (not AES's 16)
DEFAULT_MAX_SKEW = 300.0  # seconds
MAX_ENCRYPT_CHARS = 256 * 1024

# Reasons carried by WXCryptoError.
BAD_SIGNATURE = "bad_signature"
BAD_RECEIVE_ID = "bad_receive_id"  # appid / corpid of another account
BAD_PADDING = "bad_padding"
MALFORMED = "malformed"
STALE_TIMESTAMP = "stale_timestamp"
BAD_KEY = "bad_key"


class WXCryptoError(ValueError):
    """A callback that must not be trusted. ``reason`` is one of the constants above; the message never holds
    message content or user ids."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def sha1_signature(*parts: str) -> str:
    """The platforms' signature: sha1 over the lexicographically sorted, concatenated parts."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def decode_aes_key(encoding_aes_key: SecretStr | str) -> bytes:
    key = (secret_text(encoding_aes_key) or "").strip()
    if len(key) != 43:
        raise WXCryptoError(BAD_KEY, "EncodingAESKey must be 43 characters")
    try:
        raw = base64.b64decode(key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WXCryptoError(BAD_KEY, "EncodingAESKey is not base64") from exc
    if len(raw) != 32:
        raise WXCryptoError(BAD_KEY, "EncodingAESKey must decode to 32 bytes")
    return raw


def pkcs7_pad(data: bytes, block: int = BLOCK_SIZE) -> bytes:
    n = block - len(data) % block  # 1..block: a full block of padding when already aligned
    return data + bytes([n]) * n


def pkcs7_unpad(data: bytes, block: int = BLOCK_SIZE) -> bytes:
    if not data:
        raise WXCryptoError(BAD_PADDING, "empty")
    n = data[-1]
    if not 1 <= n <= block or n > len(data) or data[-n:] != bytes([n]) * n:
        raise WXCryptoError(BAD_PADDING, "invalid PKCS#7 padding")
    return data[:-n]


def parse_xml(text: str | bytes) -> dict[str, str]:
    """The child elements of a flat ``<xml>`` message as {tag: text}. Refuses DTDs and entities."""
    try:
        root: Element = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, TypeError) as exc:
        raise WXCryptoError(MALFORMED, f"unparseable XML ({type(exc).__name__})") from exc
    if root.tag != "xml":
        raise WXCryptoError(MALFORMED, "root element is not <xml>")
    fields: dict[str, str] = {}
    for child in root:
        if isinstance(child.tag, str) and child.tag not in fields:
            fields[child.tag] = (child.text or "").strip() if len(child) == 0 else ""
    return fields


def cdata(value: str) -> str:
    """``value`` as CDATA; a ``]]>`` inside is split over two sections."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class WXBizMsgCrypt:
    """Signing, verification, encryption and decryption for one account.

    ``receive_id``: the Official Account's AppID, or the WeCom CorpID. ``max_skew``: seconds a callback's
    timestamp may differ from now (None: no check, e.g. for Tencent's published test vectors).
    """

    def __init__(
        self,
        token: SecretStr | str,
        encoding_aes_key: SecretStr | str | None,
        receive_id: str | None,
        *,
        max_skew: float | None = DEFAULT_MAX_SKEW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = secret_text(token) or ""
        if not self.token:
            raise WXCryptoError(BAD_KEY, "token is empty")
        self.key = decode_aes_key(encoding_aes_key) if encoding_aes_key else None
        self.receive_id = receive_id or ""
        self.max_skew = max_skew
        self.clock = clock

    # -- signatures ---------------------------------------------------------------------------------------
    def check_timestamp(self, timestamp: str) -> None:
        # isascii: str.isdigit also takes "²", which int() refuses.
        if not isinstance(timestamp, str) or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
            raise WXCryptoError(MALFORMED, "timestamp is not a number")
        if self.max_skew is not None and abs(self.clock() - int(timestamp)) > self.max_skew:
            raise WXCryptoError(STALE_TIMESTAMP, "timestamp outside the accepted window")

    def _check(self, expected_parts: tuple[str, ...], given: str | None) -> None:
        if not given or not isinstance(given, str):
            raise WXCryptoError(BAD_SIGNATURE, "missing signature")
        expected = sha1_signature(self.token, *expected_parts)
        if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
            raise WXCryptoError(BAD_SIGNATURE, "signature mismatch")

    def check_signature(self, signature: str | None, timestamp: str, nonce: str) -> None:
        """Plaintext mode and Official Account URL verification: sha1 of sorted [token, timestamp, nonce]."""
        self.check_timestamp(timestamp)
        self._check((timestamp, nonce or ""), signature)

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return sha1_signature(self.token, timestamp, nonce, encrypt)

    # -- AES ----------------------------------------------------------------------------------------------
    def _require_key(self) -> bytes:
        if self.key is None:
            raise WXCryptoError(BAD_KEY, "no EncodingAESKey configured")
        return self.key

    def encrypt(self, text: str, random_prefix: bytes | None = None) -> str:
        key = self._require_key()
        body = text.encode("utf-8")
        prefix = random_prefix if random_prefix is not None else os.urandom(16)
        if len(prefix) != 16:
            raise ValueError("random prefix must be 16 bytes")
        buffer = pkcs7_pad(prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8"))
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        return base64.b64encode(encryptor.update(buffer) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypt: str) -> str:
        key = self._require_key()
        if not encrypt or len(encrypt) > MAX_ENCRYPT_CHARS:
            raise WXCryptoError(MALFORMED, "empty or oversized ciphertext")
        try:
            raw = base64.b64decode(encrypt.strip().replace(" ", "+"), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WXCryptoError(MALFORMED, "ciphertext is not base64") from exc
        if not raw or len(raw) % 16:
            raise WXCryptoError(MALFORMED, "ciphertext is not a whole number of AES blocks")
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        buffer = pkcs7_unpad(decryptor.update(raw) + decryptor.finalize())
        if len(buffer) < 20:
            raise WXCryptoError(MALFORMED, "buffer too short")
        (length,) = struct.unpack(">I", buffer[16:20])
        if 20 + length > len(buffer):
            raise WXCryptoError(MALFORMED, "message length exceeds the buffer")
        message, receive_id = buffer[20 : 20 + length], buffer[20 + length :]
        if not hmac.compare_digest(receive_id, self.receive_id.encode("utf-8")):
            raise WXCryptoError(BAD_RECEIVE_ID, "the message is for another account")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WXCryptoError(MALFORMED, "message is not UTF-8") from exc

    # -- the SDK's three calls ------------------------------------------------------------------------------
    def verify_url(self, msg_signature: str | None, timestamp: str, nonce: str, echostr: str) -> str:
        """WeCom URL verification: check ``msg_signature`` over the encrypted ``echostr`` and return it
        decrypted (the response body the platform expects)."""
        echostr = (echostr or "").replace(" ", "+")  # a '+' that a naive URL decoder turned into a space
        self.check_timestamp(timestamp)
        self._check((timestamp, nonce or "", echostr), msg_signature)
        return self.decrypt(echostr)

    def decrypt_message(self, xml_or_encrypt: str | bytes, msg_signature: str | None, timestamp: str,
                        nonce: str) -> str:
        """The plaintext XML of an encrypted callback (the whole POST body, or just its ``Encrypt`` value)."""
        if isinstance(xml_or_encrypt, bytes):
            try:
                xml_or_encrypt = xml_or_encrypt.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise WXCryptoError(MALFORMED, "body is not UTF-8") from exc
        text = xml_or_encrypt.strip()
        encrypt = parse_xml(text).get("Encrypt", "") if text.startswith("<") else text
        if not encrypt:
            raise WXCryptoError(MALFORMED, "no Encrypt element")
        self.check_timestamp(timestamp)
        self._check((timestamp, nonce or "", encrypt), msg_signature)
        return self.decrypt(encrypt)

    def encrypt_message(self, reply_xml: str, nonce: str | None = None, timestamp: str | int | None = None) -> str:
        """The encrypted reply envelope: ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``."""
        timestamp = str(int(self.clock()) if timestamp is None else timestamp)
        nonce = nonce if nonce and nonce.isalnum() else str(secrets.randbelow(10**10))
        encrypt = self.encrypt(reply_xml)
        return (
            f"<xml><Encrypt>{cdata(encrypt)}</Encrypt>"
            f"<MsgSignature>{cdata(self.sign(timestamp, nonce, encrypt))}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce>{cdata(nonce)}</Nonce></xml>"
        )
