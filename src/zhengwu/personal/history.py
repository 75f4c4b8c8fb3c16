"""Reading and validating a citizen's service history, exported from a government system by staff.

``zhengwu history import FILE.csv|.jsonl`` calls ``read_history``. Exports come from many systems: headers may
be English or Chinese, CSV files from Excel on government PCs are often GB18030, dates are written four ways
and statuses in Chinese. Every problem becomes a ``RowError`` naming the line and field in plain English for
the operator; a bad line never stops the others, and a bad file never ends in a traceback.

The records are personal information (PIPL): ID numbers never appear in error messages or ``repr``, and every
reason passes through ``privacy.mask_pii``. Storing them (encrypted, with a blind index) is the store's job.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from zhengwu.documents.document import NATIONAL
from zhengwu.privacy import mask_pii, valid_id_number
from zhengwu.retrieval.query import canonical_region, gazetteer

__all__ = [
    "CHANNELS",
    "MAX_FILE_BYTES",
    "STATUSES",
    "HistoryImport",
    "HistoryRow",
    "RowError",
    "parse_date",
    "read_history",
]

MAX_FILE_BYTES = 50 * 1024 * 1024
SUPPORTED_SUFFIXES = (".csv", ".jsonl")

Channel = Literal["web", "telegram", "wechat", "wecom"]
CHANNELS: tuple[str, ...] = ("web", "telegram", "wechat", "wecom")
Status = Literal["submitted", "accepted", "approved", "rejected", "completed"]
STATUSES: tuple[str, ...] = ("submitted", "accepted", "approved", "rejected", "completed")
# After these a decision exists: a validity date or a decision date makes sense.
DECIDED_STATUSES = frozenset({"approved", "rejected", "completed"})

_STATUS_ALIASES = {
    "已提交": "submitted", "已申请": "submitted", "提交": "submitted", "申请": "submitted", "待受理": "submitted",
    "已受理": "accepted", "受理": "accepted", "办理中": "accepted", "审批中": "accepted", "审核中": "accepted",
    "已批准": "approved", "已通过": "approved", "准予": "approved", "批准": "approved", "通过": "approved",
    "准予许可": "approved", "审批通过": "approved",
    "不予批准": "rejected", "不予受理": "rejected", "已驳回": "rejected", "驳回": "rejected", "不予许可": "rejected",
    "不通过": "rejected", "未通过": "rejected", "退回": "rejected",
    "已办结": "completed", "办结": "completed", "已完成": "completed", "完成": "completed",
}
_CHANNEL_ALIASES = {
    "网页": "web", "网站": "web", "网上": "web", "门户": "web",
    "微信": "wechat", "公众号": "wechat", "小程序": "wechat", "企业微信": "wecom",
}

# Accepted column names (compared after ``_header_key``), English first. Keys in JSONL use the same table.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "channel": ("channel", "渠道", "来源渠道", "平台"),
    "external_id": ("external_id", "externalid", "user_id", "渠道用户id", "渠道用户标识", "用户id", "openid"),
    "id_number": ("id_number", "idnumber", "id_card", "身份证号", "身份证号码", "公民身份号码", "证件号码", "申请人身份证号"),
    "item_code": ("item_code", "itemcode", "事项编码", "事项代码", "实施编码", "办事事项编码"),
    "item_name": ("item_name", "itemname", "事项名称", "办理事项", "办事事项"),
    "region": ("region", "地区", "办理地区", "行政区划", "区域"),
    "status": ("status", "办理状态", "状态", "办件状态", "办理结果"),
    "submitted_at": ("submitted_at", "submitted", "申请日期", "申请时间", "提交日期", "提交时间"),
    "decided_at": ("decided_at", "decided", "办结日期", "办结时间", "审批日期", "决定日期", "完成日期"),
    "valid_until": ("valid_until", "有效期至", "有效期", "有效截止日期", "证照有效期"),
    "materials": ("materials", "提交材料", "申请材料", "材料"),
    "tags": ("tags", "身份标签", "标签", "人群标签"),
    "province": ("province", "省", "省份"),
    "city": ("city", "市", "城市", "地市"),
    "district": ("district", "区", "区县", "县区"),
}
_REQUIRED_COLUMNS = ("item_code", "item_name", "status")
# The Chinese column name an operator most likely knows a field by, for messages.
CHINESE_NAMES = {
    name: next(alias for alias in aliases if re.search(r"[\u4e00-\u9fff]", alias))
    for name, aliases in FIELD_ALIASES.items()
}

_LIST_SEPARATORS = re.compile(r"[；;、|｜\n]")
_ITEM_CODE = re.compile(r"[0-9A-Za-z\-]{1,64}")
_EXCEL_NUMBER = re.compile(r"\d(\.\d+)?[eE]\+?\d+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BINARY_NOISE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # control characters text never has (\r it has)
_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日(?:\s*\d{1,2}[:时]\d{2}.*)?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})(?:\d{6})?"),
)
_DATE_HELP = "use 2024-01-02, 2024/1/2, 2024年1月2日 or 20240102"


# --- the record ------------------------------------------------------------------------------------------------


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
    status: Status
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
        key = _STATUS_ALIASES.get(key, key)
        if key not in STATUSES:
            raise ValueError(
                f"{_quote(text)} is not one of {', '.join(STATUSES)} "
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
        if self.valid_until and self.status not in ("approved", "completed"):
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


# --- the result ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """A problem at a line of the file (0: the file as a whole). ``field`` is the record field, a column name
    for unknown columns, or one of: file, header, json, identity, row."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        return f"{where}{self.field}: {self.reason}"


@dataclass
class HistoryImport:
    path: str
    rows: list[HistoryRow] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the file line of each row, parallel to ``rows``
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    encoding: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        text = f"{self.path}: {len(self.rows)} records read, {len(self.errors)} errors, {len(self.warnings)} warnings"
        return text + (f" (read as {self.encoding})" if self.encoding else "")


# --- reading ---------------------------------------------------------------------------------------------------


def read_history(path: str | Path) -> HistoryImport:
    """Read and validate a CSV or JSONL export. Problems are returned in ``errors`` (never raised), so the
    caller can show all of them at once; valid rows are in ``rows`` even when other lines are bad."""
    path = Path(path)
    result = HistoryImport(path=str(path))

    def fail(reason: str) -> HistoryImport:
        result.errors.append(RowError(0, "file", reason))
        return result

    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        hint = " (one JSON object per line: rename it to .jsonl if that is what it holds)" if suffix == ".json" else ""
        return fail(
            f"unsupported file type '{path.suffix or path.name}': export the records as CSV (UTF-8) or JSONL{hint}"
        )
    try:
        size = path.stat().st_size
        if not path.is_file():
            return fail("not a file")
        if size > MAX_FILE_BYTES:
            return fail(
                f"file is {size / 1024 / 1024:.1f} MB, the limit is {MAX_FILE_BYTES // 1024 // 1024} MB: "
                "split the export into smaller files"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        return fail("file does not exist")
    except OSError as exc:
        return fail(f"cannot read file: {exc.strerror or exc}")

    if not data.strip():
        return fail("file is empty")
    binary = _binary_kind(data)
    if binary:
        return fail(binary)
    decoded = _decode(data)
    if decoded is None:
        return fail("not UTF-8 or GB18030 text: save the export as 'CSV UTF-8' and try again")
    text, result.encoding = decoded

    records = _csv_records(text, result) if suffix == ".csv" else _jsonl_records(text, result)
    first_line_by_key: dict[tuple[Any, ...], int] = {}
    saw_record = False
    for line, record in records:
        saw_record = True
        row = _validate(line, record, result)
        if row is None:
            continue
        duplicate_of = None
        keys = [(*identity, row.item_code, row.submitted_at) for identity in row.identity_keys()]
        for key in keys:
            duplicate_of = duplicate_of or first_line_by_key.get(key)
        if duplicate_of:
            result.errors.append(
                RowError(line, "row", f"duplicate of line {duplicate_of} (same person, item_code and submitted_at)")
            )
            continue
        for key in keys:
            first_line_by_key[key] = line
        result.rows.append(row)
        result.lines.append(line)
        result.warnings.extend(RowError(line, name, mask_pii(reason)) for name, reason in row.warnings())
    if not saw_record and not result.errors:
        result.errors.append(RowError(0, "file", "no records in file"))
    return result


def _binary_kind(data: bytes) -> str | None:
    head = data[:8192]
    if head.startswith(b"PK\x03\x04"):
        return "this is an Excel workbook (.xlsx) or another ZIP file, not CSV: in Excel use Save As > CSV UTF-8"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "this is an old Excel workbook (.xls), not CSV: in Excel use Save As > CSV UTF-8"
    if head.startswith(b"%PDF"):
        return "this is a PDF, not CSV or JSONL"
    if not head.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in head:
        return "this looks like a binary file, not CSV or JSONL text"
    return None


def _decode(data: bytes) -> tuple[str, str] | None:
    """UTF-8 (BOM optional), UTF-16 with a BOM (Excel's 'Unicode text'), else GB18030 (Excel on Chinese
    Windows). GB18030 accepts almost any bytes, so mostly-control-character results are rejected."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    if len(_BINARY_NOISE.findall(text[:4096])) > 0.05 * len(text[:4096]):
        return None
    return text, "GB18030"


def _header_key(name: str) -> str:
    """'Item Code', 'item-code' and 'item_code' agree; '*事项编码（必填）' becomes '事项编码'."""
    key = unicodedata.normalize("NFKC", name).strip().strip("*").strip()
    key = re.sub(r"\((必填|选填|可选|必须)\)$", "", key).strip()
    return re.sub(r"[\s\-]+", "_", key.lower())


@lru_cache(maxsize=1)
def _alias_table() -> dict[str, str]:
    return {_header_key(alias): name for name, aliases in FIELD_ALIASES.items() for alias in aliases}


def _csv_records(text: str, result: HistoryImport) -> Iterator[tuple[int, dict[str, Any]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: list[str | None] | None = None
    end_of_previous = 0
    try:
        for cells in reader:
            start, end_of_previous = end_of_previous + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns = _map_header(cells, start, result)
                if columns is None:
                    return
                continue
            extra = [cell for cell in cells[len(columns) :] if cell.strip()]
            if extra:
                result.errors.append(
                    RowError(start, "row", f"{len(cells)} cells but the header has {len(columns)} columns "
                             "(a value containing a comma must be quoted)")
                )
                continue
            record = {
                name: cell for name, cell in zip(columns, cells, strict=False) if name is not None and cell.strip()
            }
            yield start, record
    except csv.Error as exc:
        result.errors.append(RowError(end_of_previous + 1, "file", f"CSV cannot be parsed from here on: {exc}"))
    if columns is None:
        result.errors.append(RowError(0, "file", "no header row: the first line must name the columns"))


def _map_header(cells: list[str], line: int, result: HistoryImport) -> list[str | None] | None:
    aliases = _alias_table()
    columns: list[str | None] = []
    seen: dict[str, str] = {}
    for cell in cells:
        name = aliases.get(_header_key(cell))
        if name is None:
            if cell.strip():
                result.warnings.append(RowError(line, cell.strip(), "unknown column, ignored"))
            columns.append(None)
            continue
        if name in seen:
            result.errors.append(
                RowError(line, "header", f"columns '{seen[name]}' and '{cell.strip()}' both mean {name}")
            )
            return None
        seen[name] = cell.strip()
        columns.append(name)
    missing = [name for name in _REQUIRED_COLUMNS if name not in seen]
    if "id_number" not in seen and not {"channel", "external_id"} <= seen.keys():
        missing.append("id_number (or channel and external_id)")
    if missing:
        known = ", ".join(f"{name} ({CHINESE_NAMES[name.split(' ')[0]]})" for name in missing)
        result.errors.append(RowError(line, "header", f"missing column(s): {known}"))
        return None
    return columns


def _jsonl_records(text: str, result: HistoryImport) -> Iterator[tuple[int, dict[str, Any]]]:
    aliases = _alias_table()
    warned: set[str] = set()
    # Split on \n only: U+2028 and friends are legal inside JSON strings and must not break a record.
    for line, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw, strict=False)
        except json.JSONDecodeError as exc:
            result.errors.append(RowError(line, "json", f"not valid JSON: {exc.msg} (column {exc.colno})"))
            continue
        if not isinstance(obj, dict):
            result.errors.append(RowError(line, "json", f"expected a JSON object, got {type(obj).__name__}"))
            continue
        record: dict[str, Any] = {}
        key_of: dict[str, str] = {}
        clash = None
        for key, value in obj.items():
            name = aliases.get(_header_key(str(key)))
            if name is None:
                if key not in warned:
                    warned.add(key)
                    result.warnings.append(RowError(line, str(key), "unknown key, ignored (reported once)"))
                continue
            if name in key_of:
                clash = RowError(line, name, f"keys '{key_of[name]}' and '{key}' both mean {name}")
            key_of[name] = str(key)
            if value is not None and value != "":
                record[name] = value
        if clash:
            result.errors.append(clash)
            continue
        yield line, record


def _validate(line: int, record: dict[str, Any], result: HistoryImport) -> HistoryRow | None:
    try:
        return HistoryRow.model_validate(record)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            result.errors.append(RowError(line, *_describe(error)))
        return None


def _describe(error: Any) -> tuple[str, str]:
    """(field, operator reason) of one pydantic error, without pydantic's wording. The input is only looked at,
    never quoted: it may be personal data."""
    ctx = error.get("ctx") or {}
    loc = [str(part) for part in error.get("loc", ())]
    name = loc[0] if loc else "row"
    kind = error.get("type")
    if kind == "history_row":
        return str(ctx["field"]), mask_pii(str(ctx["reason"]))
    if kind == "missing" or (kind in ("string_type", "literal_error") and error.get("input") is None):
        return name, "is required"
    if kind == "value_error" and "error" in ctx:
        return name, mask_pii(str(ctx["error"]))
    return name, mask_pii(str(error.get("msg", "invalid value")))
