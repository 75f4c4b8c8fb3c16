"""Personal information (PIPL): recognising it, keeping it out of logs, and encrypting it at rest.

The assistant personalises answers from a citizen's service history only with consent, and the records
carry 身份证号 and mobile numbers. Three safeguards live here:

- ``mask_pii`` / ``PiiFilter``: an ID number or mobile number written into a log line, an error message or an
  operator report is masked, so logs can be shared with support staff without leaking identities.
- ``FieldCipher.encrypt``: AES-256-GCM for fields stored in a database, with a key kept outside it.
- ``FieldCipher.blind_index``: a keyed hash that lets the store look a person up by ID number without keeping
  the number in clear (equal inputs give equal indexes; without the key nobody can test a guess).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import unicodedata
from collections.abc import Mapping
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "DATA_KEY_ENV",
    "FieldCipher",
    "PiiFilter",
    "contains_pii",
    "install_log_masking",
    "mask_id_number",
    "mask_pii",
    "valid_id_number",
]

# --- 居民身份证号 (GB 11643-1999) -----------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_SHAPE = re.compile(r"[1-9][0-9]{16}[0-9Xx]")


def id_check_char(first17: str) -> str:
    """The check character (0-9 or X) that GB 11643-1999 appends to 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def valid_id_number(s: str) -> bool:
    """An 18-character 居民身份证号 with a correct check character and a real birth date (1900..today).

    A lowercase ``x`` is accepted (people type it). The address code is only checked to start with 1-9: the
    same format is used by 港澳台居民居住证 (81-83) and the 2023 外国人永久居留身份证 (9x), which are PII too.
    """
    if not isinstance(s, str) or not _ID_SHAPE.fullmatch(s):
        return False
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= date.today():
        return False
    return id_check_char(s[:17]) == s[17].upper()


# --- masking ---------------------------------------------------------------------------------------------------

# Digits as typed: ASCII or full-width (some input methods produce １３８…). Python's \d would also take
# Arabic-Indic and other digits, which nobody writes a Chinese number in.
_D = "[0-9\uff10-\uff19]"
_ALNUM = "0-9\uff10-\uff19A-Za-z"
# An 18-character candidate that is not part of a longer run of letters or digits: 事项编码 such as
# 11440100007483180K344010900200106 and longer digit runs are codes, not ID numbers.
_ID_CANDIDATE = re.compile(rf"(?<![{_ALNUM}]){_D}{{17}}[0-9\uff10-\uff19Xx\uff38\uff58](?![{_ALNUM}])")
# Mainland mobile numbers, optionally as 3-4-4 groups separated by a space or hyphen, optionally preceded by
# +86 / 0086 / 86. Landlines (020-84106805), hotlines (12345) and longer digit runs do not match.
_SEP = r"[ \-\u3000\uff0d]?"
_MOBILE = re.compile(
    rf"(?<![{_ALNUM}])(?P<prefix>(?:\+|00)?86{_SEP})?"
    rf"(?P<head>[1\uff11][3-9\uff13-\uff19]{_D}){_SEP}(?P<middle>{_D}{{4}}){_SEP}(?P<tail>{_D}{{4}})"
    rf"(?![{_ALNUM}])"
)


def mask_id_number(value: str) -> str:
    """Keep the first 6 (address code) and last 4 characters (sequence number and check character) and star
    the 8 in between, the birth date: 440106199001011234 -> 440106********1234. Same length as the original,
    the scheme commonly used on Chinese receipts and screens."""
    return value[:6] + "*" * 8 + value[-4:]


def _mask_mobile(match: re.Match[str]) -> str:
    # Keep the prefix and separators as written, star the middle four digits: 138 1234 5678 -> 138 **** 5678.
    text = match.group(0)
    start, end = match.span("middle")
    offset = match.start()
    return text[: start - offset] + "****" + text[end - offset :]


def _mask_id_match(match: re.Match[str]) -> str:
    value = match.group(0)
    return mask_id_number(value) if valid_id_number(unicodedata.normalize("NFKC", value)) else value


def mask_pii(text: str) -> str:
    """Mask every checksum-valid 身份证号 (``440106********1234``) and every mainland mobile number
    (``138****5678``; spacing, hyphens and a +86 prefix are kept as written). Everything else is untouched,
    so the text stays readable; 18-digit strings that fail the checksum are left alone."""
    if not text:
        return text
    text = _ID_CANDIDATE.sub(_mask_id_match, text)
    return _MOBILE.sub(_mask_mobile, text)


def contains_pii(text: str) -> bool:
    """True when ``mask_pii`` would change the text."""
    if not text:
        return False
    if any(valid_id_number(unicodedata.normalize("NFKC", m.group(0))) for m in _ID_CANDIDATE.finditer(text)):
        return True
    return bool(_MOBILE.search(text))


# --- logging ---------------------------------------------------------------------------------------------------

_FALLBACK_FORMATTER = logging.Formatter()


class PiiFilter(logging.Filter):
    """Masks PII in a log record before any handler formats it.

    The message is formatted (``msg % args``) and then masked, and ``args`` is emptied: masking the pieces
    separately would miss a number split across them, and any formatter can still call ``getMessage()``.
    A traceback is rendered and masked into ``exc_text`` too (exception messages often quote input), which
    formatters use instead of rendering ``exc_info`` again.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not hide the record; mask the parts
            parts = [str(record.msg)]
            args = record.args
            if isinstance(args, Mapping):
                parts.extend(f"{key}={value}" for key, value in args.items())
            elif args:
                parts.extend(map(str, args))
            message = " ".join(parts)
        record.msg = mask_pii(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = _FALLBACK_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_pii(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_pii(record.stack_info)
        return True


# Loggers whose records may quote citizens: ours, the web server's, the Telegram library's.
MASKED_LOGGERS = ("zhengwu", "uvicorn", "telegram")


def install_record_masking(prefixes: tuple[str, ...] = MASKED_LOGGERS) -> None:
    """Mask PII in every record of these loggers as it is created, whatever handlers, filters or formats a
    deployment configures later (logger filters only see their own logger's records; this sees them all).
    Idempotent; installed when the package is imported."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_zhengwu_masking", False):
        return
    pii_filter = PiiFilter()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name and record.name.split(".", 1)[0] in prefixes:
            pii_filter.filter(record)
        return record

    factory._zhengwu_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _add_once(target: logging.Filterer, pii_filter: PiiFilter) -> None:
    if not any(isinstance(existing, PiiFilter) for existing in target.filters):
        target.addFilter(pii_filter)


def install_log_masking(logger_name: str = "zhengwu") -> PiiFilter:
    """Add a ``PiiFilter`` to the named logger, to every handler its records reach (its own, its descendants'
    and, while records propagate, its ancestors' up to the root) — once, however often it is called.

    A logger's own filters only see records logged on that very logger, while handler filters see every
    record the handler emits; hence both. Handlers added later are not covered: call this again after
    configuring logging (it is idempotent).
    """
    pii_filter = PiiFilter()
    logger = logging.getLogger(logger_name)
    _add_once(logger, pii_filter)

    loggers: list[logging.Logger] = [logger]
    prefix = f"{logger.name}."
    for name, candidate in list(logging.root.manager.loggerDict.items()):
        if name.startswith(prefix) and isinstance(candidate, logging.Logger):
            _add_once(candidate, pii_filter)
            loggers.append(candidate)
    current: logging.Logger | None = logger
    while current is not None and current.propagate:
        current = current.parent
        if current is not None:
            loggers.append(current)

    for each in loggers:
        for handler in each.handlers:
            _add_once(handler, pii_filter)
    if logging.lastResort is not None:  # used when no handler is configured at all
        _add_once(logging.lastResort, pii_filter)
    return pii_filter


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
