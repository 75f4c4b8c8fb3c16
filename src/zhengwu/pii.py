"""身份证号 and 手机号 (PIPL): recognising them and keeping them out of logs, prompts and transcripts.

Shared by every layer (the assistant masks questions, the stores mask transcripts, logging masks records):
``mask_pii`` masks an ID or mobile number however it is written; ``PiiFilter`` and ``install_record_masking``
mask every log record of the product's loggers at creation, so logs can be shared with support staff.
Encryption of stored fields is the personal-data store's business: ``zhengwu.personal.cipher``.
"""

from __future__ import annotations

import logging
import re
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
#
# Numbers are looked for in a *view* of the text, one character per visible character of the original, that
# folds the forms people (and input methods) use into one: full-width digits, letters and punctuation into
# ASCII, every Unicode space (the ideographic one included) into " ", dashes into "-", middle dots into ".";
# invisible format characters (zero-width space/joiners, BOM, word joiner, soft hyphen, bidi marks) are left
# out. Each view character remembers where it came from, so masking stars the digits in the original text.
#
# What counts as a number (docs: ``mask_pii``):
# - digits may be grouped by one separator (a space, hyphen or dot, optionally with spaces around a hyphen or
#   dot) at group boundaries only: an ID number at 4/6/8/10/12/14/16 (6-8-4, 6-4-4-4, 4-4-4-4-2), a mobile
#   number at 3/7 (3-4-4), and after a +86 / 0086 / 86 prefix; separators anywhere would turn lists of small
#   numbers into phone numbers;
# - a digit right before or after the candidate means it is part of a longer digit run (a code or another
#   number), not an ID or mobile number; so does a single letter between the candidate and a digit, as in the
#   事项编码 11440100007483180K344010900200106 (统一社会信用代码 + item number);
# - any other letter neighbour is allowed: ``ID``, ``Tel``, ``No.`` and the like must not protect a number.

_FOLD = str.maketrans(
    {
        **{0xFF01 + i: chr(0x21 + i) for i in range(94)},  # full-width ASCII forms: ０-９, Ａ-Ｚ, ＋, －, ．
        **dict.fromkeys(map(ord, "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
                                 "\u200a\u202f\u205f\u3000"), " "),
        **dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63"), "-"),
        **dict.fromkeys(map(ord, "\u00b7\u30fb\uff65"), "."),
    }
)
# Invisible characters (Unicode format characters and the combining grapheme joiner): pasted from word
# processors and chat apps, or inserted on purpose to split a number.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000e0001\U000e0020-\U000e007f]"
)
_DIGIT_OR_WIDE = re.compile("[0-9\uff10-\uff19]")

_SEP = r"(?: {1,2}| ?[-.] ?)?"
_NOT_AFTER_A_CODE = r"(?<![0-9])(?<![0-9][A-Za-z])"
_NOT_BEFORE_A_CODE = r"(?![0-9])(?![A-Za-z][0-9])"


def _grouped(sizes: tuple[int, ...]) -> str:
    return _SEP.join(f"[0-9]{{{size}}}" for size in sizes)


# 18 characters: [1-9], 16 digits, a check digit or X; separators allowed at even boundaries from 4 to 16.
_ID_CANDIDATE = re.compile(
    rf"{_NOT_AFTER_A_CODE}[1-9][0-9]{{3}}{_SEP}{_grouped((2, 2, 2, 2, 2, 2))}{_SEP}[0-9][0-9Xx]{_NOT_BEFORE_A_CODE}"
)
# Mainland mobile numbers, optionally as 3-4-4 groups, optionally preceded by +86 / 0086 / 86. Landlines
# (020-84106805), hotlines (12345) and longer digit runs do not match.
_MOBILE = re.compile(
    rf"{_NOT_AFTER_A_CODE}(?:(?:\+|00)?86{_SEP})?1[3-9][0-9]{_SEP}(?P<middle>[0-9]{{4}}){_SEP}[0-9]{{4}}"
    rf"{_NOT_BEFORE_A_CODE}"
)


def mask_id_number(value: str) -> str:
    """Keep the first 6 (address code) and last 4 characters (sequence number and check character) and star
    the 8 in between, the birth date: 440106199001011234 -> 440106********1234. Same length as the original,
    the scheme commonly used on Chinese receipts and screens."""
    return value[:6] + "*" * 8 + value[-4:]


def _view(text: str) -> tuple[str, list[int]]:
    """The folded, visible text and, for each of its characters, its index in ``text``."""
    folded = text.translate(_FOLD)
    if not _INVISIBLE.search(folded):
        return folded, list(range(len(text)))
    kept = [i for i, ch in enumerate(folded) if not _INVISIBLE.match(ch)]
    return "".join(folded[i] for i in kept), kept


def _pii_edits(text: str) -> tuple[set[int], list[tuple[int, int]]]:
    """Indices of ``text`` to star, and the spans (start, end) of the numbers found in it."""
    view, where = _view(text)
    starred: set[int] = set()  # view indices
    spans: list[tuple[int, int]] = []
    position = 0
    while match := _ID_CANDIDATE.search(view, position):
        digits = [i for i in range(match.start(), match.end()) if view[i] not in " -."]
        if not valid_id_number("".join(view[i] for i in digits)):
            position = match.start() + 1  # a valid number may start inside a candidate that is not one
            continue
        starred.update(digits[6:14])
        spans.append(match.span())
        position = match.end()
    # The mobile search sees the ID numbers' birth dates as stars, so it never reads across a masked number.
    view = "".join("*" if i in starred else ch for i, ch in enumerate(view))
    for match in _MOBILE.finditer(view):
        starred.update(range(*match.span("middle")))
        spans.append(match.span())
    return {where[i] for i in starred}, [(where[start], where[end - 1] + 1) for start, end in spans]


def mask_pii(text: str) -> str:
    """Mask every checksum-valid 身份证号 (``440106********1234``) and every mainland mobile number
    (``138****5678``) however it is written: grouped by spaces, hyphens or dots, in full-width forms, with
    invisible characters inside, right after ``ID``/``Tel`` (the rules are at ``_FOLD`` above).

    Only the digits are replaced, one ``*`` each; separators, full-width forms and any prefix are kept as
    written (``138 1234 5678`` -> ``138 **** 5678``, ``１３８１２３４５６７８`` -> ``１３８****５６７８``), so the text
    stays readable; invisible characters inside a masked number are dropped. 18-digit strings that fail the
    checksum or have no real birth date, landlines, hotlines and digit runs longer than a number are untouched.
    """
    if not text or not _DIGIT_OR_WIDE.search(text):
        return text
    starred, spans = _pii_edits(text)
    if not spans:
        return text
    out = list(text)
    for index in starred:
        out[index] = "*"
    for start, end in spans:
        for index in range(start, end):
            if _INVISIBLE.match(text[index]):
                out[index] = ""
    return "".join(out)


def contains_pii(text: str) -> bool:
    """True when ``mask_pii`` would change the text (it is defined that way, so the two always agree)."""
    return bool(text) and mask_pii(text) != text


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
