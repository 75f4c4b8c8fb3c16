"""Reading a service-history export: CSV or JSONL, UTF-8, UTF-16 or GB18030 (Excel on government PCs), English
or Chinese headers mapped onto the record's fields, each line validated as a ``HistoryRow``. Every problem
becomes a ``RowError`` naming the line and field in plain English for the operator; a bad line never stops the
others, and a bad file never ends in a traceback. Reasons pass through ``pii.mask_pii``.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from zhengwu.personal.history.rows import HistoryRow
from zhengwu.pii import mask_pii

# The limit is read as ``zhengwu.personal.history.MAX_FILE_BYTES`` (the package's name for it) when a file is
# read, so that changing it there takes effect; this is its default.
MAX_FILE_BYTES = 50 * 1024 * 1024
SUPPORTED_SUFFIXES = (".csv", ".jsonl")

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
_BINARY_NOISE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # control characters text never has (\r it has)


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


def _max_file_bytes() -> int:
    return importlib.import_module(__package__).MAX_FILE_BYTES


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
        limit = _max_file_bytes()
        if size > limit:
            return fail(
                f"file is {size / 1024 / 1024:.1f} MB, the limit is {limit // 1024 // 1024} MB: "
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
        except (ValueError, RecursionError):  # a number of over 4,300 digits; nesting deeper than Python's stack
            result.errors.append(RowError(line, "json", "not valid JSON: nested too deeply or a number too long"))
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
