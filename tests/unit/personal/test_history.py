"""Service-history import: reading CSV/JSONL exports and reporting every problem by line and field.

The fixtures in tests/fixtures/history use invented people: ID numbers whose check character was computed
for the test, and names nobody is known by. Item codes and names are real corpus items.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers import FIXTURES

import zhengwu.personal.history as history
from zhengwu.personal import HistoryRow, parse_date, read_history

HISTORY_FIXTURES = FIXTURES / "history"
HEADER = "身份证号,事项编码,事项名称,办理状态,申请日期"
PERSON = "440106198503152017"  # invented; checksum-valid
CODE = "11440000553612461J2442111665002"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def where(result) -> list[tuple[int, str]]:
    return [(error.line, error.field) for error in result.errors]


# --- the fixtures ----------------------------------------------------------------------------------------------


def test_good_csv_with_chinese_headers():
    result = read_history(HISTORY_FIXTURES / "good.csv")
    assert result.ok and not result.warnings, [str(e) for e in result.errors + result.warnings]
    assert result.encoding == "UTF-8"
    assert len(result.rows) == 6
    licence, car, pension, company, permit, graduate = result.rows

    assert licence.id_number == PERSON and licence.channel is None
    assert licence.status == "completed"  # 已办结
    assert (licence.submitted_at, licence.decided_at, licence.valid_until) == (
        date(2024, 3, 1), date(2024, 3, 20), date(2030, 3, 20)  # 2024-03-01, 2024/3/20, 2030年3月20日
    )
    assert licence.materials == ["居民身份证", "机动车驾驶人身体条件证明"]

    assert (car.channel, car.external_id, car.status) == ("wechat", "wx-user-1001", "accepted")
    assert car.submitted_at == date(2024, 4, 2)  # 20240402
    assert car.region == "广州市"  # 广东省广州市
    assert car.materials == ["机动车所有人身份证明", "购车发票", "车辆合格证明"]

    assert pension.status == "approved" and pension.tags == ["退休人员"]
    assert pension.materials == ["居民身份证", "退休审批表"]  # | separated
    assert company.id_number is None and company.region == "天河区"
    assert company.materials == ["公司登记（备案）申请书", "公司章程"]  # ; separated
    assert permit.region == "广州市"  # 广州
    assert graduate.region is None
    assert graduate.materials == ["就业协议书,报到证", "毕业证书"]  # a quoted comma stays in its cell


def test_gb18030_csv_from_excel():
    result = read_history(HISTORY_FIXTURES / "gbk.csv")
    assert result.ok, [str(e) for e in result.errors]
    assert result.encoding == "GB18030"
    assert [row.item_name for row in result.rows] == ["申报职业技能鉴定", "档案接收"]
    first, second = result.rows
    assert first.id_number == "44011219950808131X"  # lowercase x normalised
    assert first.submitted_at == date(2024, 5, 6)  # 2024/5/6 09:30:00
    assert first.region == "广州市" and second.region == "番禺区"  # from city / district columns
    # Names are not imported (data minimisation): the column is reported and dropped.
    assert [str(w) for w in result.warnings] == ["line 1, 姓名: unknown column, ignored"]
    assert "陈晓明" not in repr(result.rows)


def test_mixed_jsonl_reports_each_bad_line():
    result = read_history(HISTORY_FIXTURES / "mixed.jsonl")
    assert [row.item_name for row in result.rows] == ["办理往来港澳通行证探亲签注", "广东省人才优粤卡申办", "内资有限责任公司设立登记"]
    assert result.lines == [1, 3, 11]
    assert where(result) == [
        (2, "status"),
        (4, "submitted_at"),
        (5, "id_number"),
        (6, "identity"),
        (7, "json"),
        (9, "row"),  # line 8 is blank
        (10, "decided_at"),
    ]
    messages = [str(error) for error in result.errors]
    assert messages[0].startswith("line 2, status: 'pending' is not one of submitted, accepted, approved")
    assert "not a real calendar date" in messages[1]
    assert "duplicate of line 1" in messages[5]
    assert "before submitted_at" in messages[6]
    chinese_keys = result.rows[1]
    assert (chinese_keys.channel, chinese_keys.external_id, chinese_keys.status) == ("telegram", "tg-3003", "accepted")
    assert chinese_keys.tags == ["高层次人才", "海外留学回国人员"]
    assert ("valid_until" in [w.field for w in result.warnings]) and ("note" in [w.field for w in result.warnings])


def test_id_numbers_never_reach_messages_or_repr():
    result = read_history(HISTORY_FIXTURES / "mixed.jsonl")
    text = " ".join(map(str, result.errors + result.warnings)) + repr(result.rows)
    assert "440106198503152018" not in text and PERSON not in text
    assert "id_number" not in repr(result.rows[0])


# --- validation ------------------------------------------------------------------------------------------------


def row(**values) -> dict:
    return {"id_number": PERSON, "item_code": CODE, "item_name": "企业职工基本养老金申领", "status": "submitted"} | values


@pytest.mark.parametrize(
    ("alias", "status"),
    [
        ("已提交", "submitted"), ("已申请", "submitted"), ("已受理", "accepted"), ("已批准", "approved"),
        ("已通过", "approved"), ("准予", "approved"), ("不予批准", "rejected"), ("不予受理", "rejected"),
        ("已驳回", "rejected"), ("已办结", "completed"), ("办结", "completed"), ("已完成", "completed"),
        ("Approved", "approved"), (" completed ", "completed"),
    ],
)
def test_status_aliases(alias, status):
    assert HistoryRow.model_validate(row(status=alias)).status == status


@pytest.mark.parametrize(
    "text", ["2024-01-02", "2024/1/2", "2024年1月2日", "20240102", "2024.01.02", "2024-01-02 08:30:00", "２０２４/1/2"]
)
def test_date_formats(text):
    assert parse_date(text) == date(2024, 1, 2)


@pytest.mark.parametrize("text", ["2024-02-30", "02/01/2024", "yesterday", "2024-1", "202401"])
def test_bad_dates(text):
    with pytest.raises(ValueError, match="2024|date"):
        parse_date(text)


def validate(record: dict, tmp_path: Path):
    """Through the reader, as an operator would see it."""
    import json

    path = write(tmp_path, "one.jsonl", json.dumps(record, ensure_ascii=False) + "\n")
    return read_history(path)


@pytest.mark.parametrize(
    ("values", "field", "fragment"),
    [
        ({"id_number": None, "channel": "wechat"}, "external_id", "not the user's id"),
        ({"id_number": None, "external_id": "abc"}, "channel", "external_id is given but not its channel"),
        ({"channel": "qq", "external_id": "1"}, "channel", "'qq' is not one of web, telegram, wechat, wecom"),
        ({"item_code": "1144 0000"}, "item_code", "letters, digits and '-'"),
        ({"item_code": "1.14401E+30"}, "item_code", "scientific notation"),
        ({"id_number": "4.40106E+17"}, "id_number", "scientific notation"),
        ({"item_code": "A" * 65}, "item_code", "limit is 64"),
        ({"item_name": None}, "item_name", "is required"),
        ({"status": "  "}, "status", "is required"),
        ({"submitted_at": (date.today() + timedelta(days=5)).isoformat()}, "submitted_at", "in the future"),
        ({"materials": {"a": 1}}, "materials", "expected a list"),
    ],
)
def test_row_errors(values, field, fragment, tmp_path):
    result = validate(row(**values), tmp_path)
    assert not result.rows
    assert [(e.line, e.field) for e in result.errors] == [(1, field)], [str(e) for e in result.errors]
    assert fragment in result.errors[0].reason


def test_channel_identity_and_warnings(tmp_path):
    result = validate(
        row(id_number=None, channel="微信", external_id=12345, status="已受理", decided_at="2024-02-01",
            submitted_at="2024-01-01", valid_until="2025-01-01", materials="材料一；材料二、材料三|材料一"),
        tmp_path,
    )
    assert result.ok
    (only,) = result.rows
    assert (only.channel, only.external_id) == ("wechat", "12345")
    assert only.materials == ["材料一", "材料二", "材料三"]
    assert sorted(w.field for w in result.warnings) == ["decided_at", "valid_until"]


def test_english_headers_tab_separated_and_bom(tmp_path):
    text = (
        "\ufeffItem Code\titem_name\tStatus\tchannel\texternal-id\tsubmitted_at\n"
        f"{CODE}\t养老金\tapproved\tweb\tu1\t2024-01-01\n"
    )
    result = read_history(write(tmp_path, "tabs.csv", text))
    assert result.ok and len(result.rows) == 1 and result.rows[0].channel == "web"


def test_duplicate_by_channel_identity(tmp_path):
    line = f"wechat,wx1,{CODE},养老金,已受理,2024-01-01"
    text = "渠道,渠道用户ID,事项编码,事项名称,办理状态,申请日期\n" + "\n".join([line, line, line.replace("2024-01-01", "2024-02-01")])
    result = read_history(write(tmp_path, "dup.csv", text))
    assert len(result.rows) == 2 and where(result) == [(3, "row")]


def test_multiline_cell_keeps_line_numbers(tmp_path):
    text = f'{HEADER},提交材料\n{PERSON},{CODE},养老金,已受理,2024-01-01,"材料一\n材料二"\n{PERSON},{CODE},养老金,pending,2024-01-02,\n'
    result = read_history(write(tmp_path, "multi.csv", text))
    assert result.rows[0].materials == ["材料一", "材料二"]
    assert where(result) == [(4, "status")]


def test_misaligned_row(tmp_path):
    text = f"{HEADER}\n{PERSON},{CODE},养老金,已受理,2024-01-01,oops\n"
    result = read_history(write(tmp_path, "extra.csv", text))
    assert where(result) == [(2, "row")] and "must be quoted" in result.errors[0].reason


# --- bad files -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("history.xlsx", b"PK\x03\x04rest", "unsupported file type '.xlsx'"),
        ("history.json", b"{}", "rename it to .jsonl"),
        ("history.csv", b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
        ("history.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Excel workbook"),
        ("history.jsonl", b"\x00\x01\x02\x03binary", "binary file"),
        ("history.csv", b"", "file is empty"),
        ("history.jsonl", b"\n \n", "file is empty"),
        ("history.csv", "事项编码,事项名称,办理状态,申请日期\n".encode(), "missing column(s): id_number (or channel and external_id)"),
        ("history.csv", "身份证号,事项名称\n".encode(), "item_code (事项编码), status (办理状态)"),
        ("history.csv", f"{HEADER}\n".encode(), "no records in file"),
        ("history.csv", "身份证号,证件号码,事项编码,事项名称,办理状态\n".encode(), "both mean id_number"),
    ],
)
def test_bad_files_give_one_clear_error(tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    result = read_history(path)
    assert not result.rows and len(result.errors) == 1
    assert fragment in str(result.errors[0])


def test_missing_and_too_large_files(tmp_path, monkeypatch):
    assert "does not exist" in str(read_history(tmp_path / "nope.csv").errors[0])
    path = write(tmp_path, "big.csv", f"{HEADER}\n{PERSON},{CODE},养老金,已受理,2024-01-01\n")
    monkeypatch.setattr(history, "MAX_FILE_BYTES", 10)
    (error,) = read_history(path).errors
    assert (error.line, error.field) == (0, "file")
    assert "the limit is" in error.reason and "split the export" in error.reason


def test_short_gb18030_lines_with_crlf(tmp_path):
    text = "渠道,渠道用户ID,事项编码,事项名称,办理状态\r\n" + "web,u1,A1,办结,已办结\r\n" * 3
    result = read_history(write(tmp_path, "short.csv", text, "gb18030"))
    assert result.encoding == "GB18030" and len(result.rows) == 1
    assert where(result) == [(3, "row"), (4, "row")]  # the same record three times


def test_utf16_export(tmp_path):
    path = write(tmp_path, "u16.csv", f"{HEADER}\n{PERSON},{CODE},养老金,已受理,2024-01-01\n", "utf-16")
    result = read_history(path)
    assert result.ok and result.encoding == "UTF-16" and len(result.rows) == 1


def test_jsonl_too_deep_or_with_a_huge_number_is_a_bad_line_not_a_crash(tmp_path):
    """Issue 15 fuzzing: nesting deeper than Python's stack and a 5,000-digit number raised past the reader."""
    path = tmp_path / "hostile.jsonl"
    path.write_text('{"a": ' * 10000 + "\n" + '{"channel": "web", "external_id": ' + "9" * 5000 + "}\n",
                    encoding="utf-8")
    result = read_history(path)
    assert result.rows == [] and [(e.line, e.field) for e in result.errors] == [(1, "json"), (2, "json")]
