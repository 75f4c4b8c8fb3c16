"""Staff commands for personal data, through click's CliRunner, on a SQLite store in a temporary data dir."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from helpers import FIXTURES

import zhengwu.config
from zhengwu.cli.main import main
from zhengwu.personal import FieldCipher

HISTORY = FIXTURES / "history"


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHENGWU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ZHENGWU_DATABASE_URL", raising=False)
    monkeypatch.setenv("ZHENGWU_DATA_KEY", FieldCipher.generate_key())
    zhengwu.config.get_settings.cache_clear()

    def invoke(*args: str, code: int | None = 0):
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        if code is not None:
            assert result.exit_code == code, result.output
        return result

    yield invoke
    zhengwu.config.get_settings.cache_clear()


def test_import_reports_bad_rows_and_is_idempotent(run):
    first = run("history", "import", str(HISTORY / "good.csv"))
    assert "records added" in first.output and " 0 rows rejected" in first.output
    added = int(first.output.split(" records added")[0].rsplit(" ", 1)[-1])
    assert added >= 4
    again = run("history", "import", str(HISTORY / "good.csv"))
    assert ": 0 records added" in again.output
    mixed = run("history", "import", str(HISTORY / "mixed.jsonl"), code=2)
    assert "line 2, status" in mixed.output and "pending" in mixed.output
    assert "440106198503152018" not in mixed.output  # a bad ID number is reported, never echoed


def test_gb18030_exports_from_excel_import(run):
    result = run("history", "import", str(HISTORY / "gbk.csv"))
    assert "records added" in result.output and "0 rows rejected" in result.output


def test_id_numbers_need_the_encryption_key(run, monkeypatch):
    monkeypatch.delenv("ZHENGWU_DATA_KEY")
    result = run("history", "import", str(HISTORY / "good.csv"), code=2)
    assert "ZHENGWU_DATA_KEY" in result.output
    assert "tg-778899" not in result.output  # the row with a channel identity only was stored


def test_show_consent_export_and_delete_a_user(run, tmp_path):
    run("history", "import", str(HISTORY / "good.csv"))
    who = ("--channel", "wechat", "--external-id", "wx-user-1001", "--actor", "张科员")
    shown = json.loads(run("users", "show", *who).output)
    assert shown["id_number"].startswith("440106") and "*" in shown["id_number"] and shown["records"] >= 2
    run("users", "consent", *who, "--personalisation", "--reminders")
    out = tmp_path / "export.json"
    run("users", "export", *who, "--out", str(out))
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert "440106198503152017" in json.dumps(exported, ensure_ascii=False)  # the citizen's own copy is complete
    deleted = run("users", "delete", *who, "--yes")
    assert "deleted:" in deleted.output
    gone = run("users", "show", *who, code=1)
    assert "no user has the wechat identity" in gone.output


def test_the_raw_database_file_holds_no_id_number_in_clear(run, tmp_path):
    run("history", "import", str(HISTORY / "good.csv"))
    run("users", "show", "--channel", "wechat", "--external-id", "wx-user-1001")
    files = list((tmp_path / "data").glob("zhengwu.sqlite3*"))  # the database and its WAL
    raw = b"".join(f.read_bytes() for f in files)
    assert files and b"wx-user-1001" in raw  # the check can see stored text...
    for number in (b"440106198503152017", b"440104196007120030"):
        assert number not in raw  # ...but no ID number in clear
