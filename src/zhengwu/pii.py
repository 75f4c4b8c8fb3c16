"""身份证号 and 手机号 (PIPL): recognising them and keeping them out of logs, prompts and transcripts.

Shared by every layer (the assistant masks questions, the stores mask transcripts, logging masks records):
``mask_pii`` masks an ID or mobile number however it is written; ``PiiFilter`` and ``install_record_masking``
mask every log record of the product's loggers at creation, so logs can be shared with support staff.
Encryption of stored fields is the personal-data store's business: ``zhengwu.personal.cipher``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from datetime import date

__all__ = [
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
