"""One service-history record as it must be to be stored: the pydantic ``HistoryRow`` and the validators that
turn what exports contain (Chinese statuses and channel names, dates written four ways, Excel's damage to
numbers, lists in one cell) into clean values, or into a plain-English reason for the operator.

ID numbers never appear in a reason or a ``repr``: they are personal data, even when wrong.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from zhengwu.answering.vocabulary import CHANNELS, Channel
from zhengwu.documents.document import NATIONAL
from zhengwu.personal.records import (
    DECIDED_STATUSES,
    GRANTED_STATUSES,
    RECORD_STATUSES,
    STATUS_ALIASES,
    RecordStatus,
)
from zhengwu.pii import valid_id_number
from zhengwu.retrieval.query import canonical_region, gazetteer

_CHANNEL_ALIASES = {
    "网页": "web", "网站": "web", "网上": "web", "门户": "web",
    "微信": "wechat", "公众号": "wechat", "小程序": "wechat", "企业微信": "wecom",
}
_LIST_SEPARATORS = re.compile(r"[；;、|｜\n]")
_ITEM_CODE = re.compile(r"[0-9A-Za-z\-]{1,64}")
_EXCEL_NUMBER = re.compile(r"\d(\.\d+)?[eE]\+?\d+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日(?:\s*\d{1,2}[:时]\d{2}.*)?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})(?:\d{6})?"),
)
_DATE_HELP = "use 2024-01-02, 2024/1/2, 2024年1月2日 or 20240102"


def _text(value: Any, what: str, max_chars: int) -> str | None:
    """One-line text: numbers from JSON become strings, whitespace runs collapse, control characters go."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"expected text, got {type(value).__name__}")
    text = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", str(value))).split())
    if not text:
        return None
    if len(text) > max_chars:
        raise ValueError(f"{what} is {len(text)} characters long, the limit is {max_chars}")
    return text


def _quote(value: Any, limit: int = 40) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _excel_hint(text: str) -> str:
    if _EXCEL_NUMBER.fullmatch(text):
        return " (Excel turned the number into scientific notation: format the column as Text and export again)"
    return ""


def parse_date(value: Any) -> date | None:
    """2024-01-02, 2024/1/2, 2024.1.2, 2024年1月2日 or 20240102, with or without a time of day; a ``date``
    (or ``datetime``) passes through. Full-width digits are folded first. ``ValueError`` otherwise."""
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"expected a date, got {type(value).__name__}; {_DATE_HELP}")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            try:
                return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                raise ValueError(f"{_quote(text)} is not a real calendar date") from None
    raise ValueError(f"{_quote(text)} is not a date; {_DATE_HELP}")


def _split_list(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        parts: list[Any] = _LIST_SEPARATORS.split(value)
    elif isinstance(value, list):
        parts = value
    else:
        raise ValueError(f"expected a list or text separated by ；/;/、/|, got {type(value).__name__}")
    out: list[str] = []
    for part in parts:
        text = _text(part, f"one of the {what}", 200)
        if text and text not in out:
            out.append(text)
    if len(out) > 200:
        raise ValueError(f"{len(out)} {what}, the limit is 200")
    return out


@lru_cache(maxsize=1)
def _known_regions() -> frozenset[str]:
    table, _ = gazetteer()
    return frozenset({region.name for region in table.values()} | {NATIONAL})


def _region(value: str | None) -> str | None:
    """The canonical name of a known place (广东省广州市 -> 广州市); anything else as written."""
    if not value:
        return None
    canonical = canonical_region(value)
    return canonical if canonical in _known_regions() else value


class HistoryRow(BaseModel):
    """One service-history record: who (an ID number, or a chat channel and that channel's user id), which
    item (事项编码 and 事项名称), and how far it got."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel | None = None
    external_id: str | None = None
    # repr=False: an ID number must not reach a log line through a printed record.
    id_number: str | None = Field(default=None, repr=False)
    item_code: str
    item_name: str
    region: str | None = None
    status: RecordStatus
    submitted_at: date | None = None
    decided_at: date | None = None
    valid_until: date | None = None
    materials: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    province: str | None = None
    city: str | None = None
    district: str | None = None

    @field_validator("channel", mode="before")
    @classmethod
    def _channel(cls, value: Any) -> str | None:
        text = _text(value, "channel", 32)
        if text is None:
            return None
        key = text.lower()
        key = _CHANNEL_ALIASES.get(key, key)
        if key not in CHANNELS:
            raise ValueError(f"{_quote(text)} is not one of {', '.join(CHANNELS)}")
        return key

    @field_validator("external_id", mode="before")
    @classmethod
    def _external_id(cls, value: Any) -> str | None:
        return _text(value, "external_id", 128)

    @field_validator("id_number", mode="before")
    @classmethod
    def _id_number(cls, value: Any) -> str | None:
        text = _text(value, "id_number", 64)
        if text is None:
            return None
        text = unicodedata.normalize("NFKC", text).replace(" ", "").upper()
        if not valid_id_number(text):
            # Never echo the number: it is personal data, even when wrong.
            if len(text) != 18:
                raise ValueError(f"not an 18-character 居民身份证号 ({len(text)} characters){_excel_hint(text)}")
            raise ValueError("not a valid 居民身份证号 (check character or birth date is wrong)")
        return text

    @field_validator("item_code", mode="before")
    @classmethod
    def _item_code(cls, value: Any) -> str | None:
        text = _text(value, "item_code", 64)
        if text is None:
            return None  # reported as missing
        text = text.strip("'")  # a leading apostrophe is how Excel users force text
        if not _ITEM_CODE.fullmatch(text):
            raise ValueError(
                f"{_quote(text)} may only contain letters, digits and '-' (at most 64){_excel_hint(text)}"
            )
        return text

    @field_validator("item_name", mode="before")
    @classmethod
    def _item_name(cls, value: Any) -> str | None:
        return _text(value, "item_name", 200)

    @field_validator("region", "province", "city", "district", mode="before")
    @classmethod
    def _place(cls, value: Any) -> str | None:
        return _region(_text(value, "place name", 64))

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> str | None:
        text = _text(value, "status", 32)
        if text is None:
            return None
        key = text.lower()
        key = STATUS_ALIASES.get(key, key)
        if key not in RECORD_STATUSES:
            raise ValueError(
                f"{_quote(text)} is not one of {', '.join(RECORD_STATUSES)} "
                "(or a Chinese status such as 已提交, 已受理, 已批准, 不予批准, 已办结)"
            )
        return key

    @field_validator("submitted_at", "decided_at", "valid_until", mode="before")
    @classmethod
    def _date(cls, value: Any) -> date | None:
        return parse_date(value)

    @field_validator("materials", mode="before")
    @classmethod
    def _materials(cls, value: Any) -> list[str]:
        return _split_list(value, "materials")

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str]:
        return _split_list(value, "tags")

    @model_validator(mode="after")
    def _consistent(self) -> HistoryRow:
        if self.channel and not self.external_id:
            raise _cross("external_id", f"channel '{self.channel}' is given but not the user's id on it")
        if self.external_id and not self.channel:
            raise _cross("channel", f"external_id is given but not its channel ({', '.join(CHANNELS)})")
        if not self.id_number and not self.channel:
            raise _cross("identity", "no identity: give id_number, or channel and external_id")
        # One day of slack: the server may run on UTC while the export was made in China (UTC+8).
        latest = date.today() + timedelta(days=1)
        for name in ("submitted_at", "decided_at"):
            value = getattr(self, name)
            if value and value > latest:
                raise _cross(name, f"{value.isoformat()} is in the future")
            if value and value < date(1949, 10, 1):
                raise _cross(name, f"{value.isoformat()} is before 1949-10-01")
        if self.submitted_at and self.decided_at and self.decided_at < self.submitted_at:
            raise _cross(
                "decided_at",
                f"{self.decided_at.isoformat()} is before submitted_at {self.submitted_at.isoformat()}",
            )
        if self.region is None:
            # The most specific place given separately, so the record still says where it was handled.
            self.region = self.district or self.city or self.province
        return self

    def warnings(self) -> list[tuple[str, str]]:
        """(field, reason) for values that are accepted but probably wrong."""
        out: list[tuple[str, str]] = []
        if self.valid_until and self.status not in GRANTED_STATUSES:
            out.append(
                ("valid_until", f"given although status is '{self.status}'; it only means something after approval")
            )
        if self.valid_until and self.submitted_at and self.valid_until < self.submitted_at:
            out.append(("valid_until", "is before submitted_at"))
        if self.decided_at and self.status not in DECIDED_STATUSES:
            out.append(("decided_at", f"given although status is '{self.status}' (no decision yet)"))
        return out

    def identity_keys(self) -> list[tuple[str, ...]]:
        """Every way this record names its person; two records share a person when they share a key."""
        keys: list[tuple[str, ...]] = []
        if self.id_number:
            keys.append(("id_number", self.id_number))
        if self.channel and self.external_id:
            keys.append(("channel", self.channel, self.external_id))
        return keys


def _cross(field_name: str, reason: str) -> PydanticCustomError:
    return PydanticCustomError("history_row", "{field}: {reason}", {"field": field_name, "reason": reason})
