"""Document loaders: every fixture is generated in tmp_path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import docx
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

import zhengwu.documents.loaders as loaders
from zhengwu.documents.document import Document
from zhengwu.documents.loaders import SUPPORTED_SUFFIXES, LoadFailure, load_file, load_paths

GUIDE_CODE = "114401000075102374440111700501"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def make_pdf(path: Path, lines: list[str], *, font: str = "Helvetica", encrypt: str | None = None) -> Path:
    if font == "STSong-Light":
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt)
    for page_lines in (lines[:2], lines[2:]):
        pdf.setFont(font, 12)
        for offset, line in enumerate(page_lines):
            pdf.drawString(72, 760 - 20 * offset, line)
        pdf.showPage()
    pdf.save()
    return path


def errors_by_name(result: loaders.LoadResult) -> dict[str, str]:
    return {Path(e.path.split(":")[0]).name: e.reason for e in result.errors}


def test_supported_suffixes() -> None:
    assert {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx", ".jsonl"} == SUPPORTED_SUFFIXES


# --- Markdown --------------------------------------------------------------------------------------------------


def test_markdown_front_matter_fields_and_extras(tmp_path: Path) -> None:
    path = write(
        tmp_path / "guide.md",
        f"---\ndoc_id: {GUIDE_CODE}\ntitle: 临时价格干预范围事项提价申报\ndoc_type: service_guide\n"
        "region: 广东省\ndepartment: 广东省发展和改革委员会\nupdated: 2024-05-01\n"
        "source_url: https://www.gdzwfw.gov.cn/x\nstatus: active\n"
        "category: 0123\naliases: [提价申报]\nchecked: 2024-06-01\npages: 3\n---\n"
        "# 临时价格干预范围事项提价申报\n\n## 咨询电话\n020-34121084\n",
    )
    [doc] = load_file(path, root=tmp_path)
    assert doc.doc_id == GUIDE_CODE  # unquoted 30-digit number: every digit kept
    assert doc.title == "临时价格干预范围事项提价申报"
    assert (doc.doc_type, doc.region, doc.status) == ("service_guide", "广东省", "active")
    assert doc.department == "广东省发展和改革委员会"
    assert doc.updated == "2024-05-01"
    assert doc.source_url == "https://www.gdzwfw.gov.cn/x"
    assert doc.body.startswith("# 临时价格干预范围事项提价申报")
    assert "020-34121084" in doc.body
    assert doc.path == "guide.md"
    # Dates become ISO strings, leading zeros survive, real numbers stay numbers; all JSON-serialisable.
    assert doc.extra == {"category": "0123", "aliases": ["提价申报"], "checked": "2024-06-01", "pages": 3}
    json.dumps(doc.extra)


def test_markdown_numeric_doc_id_edge_cases(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "---\ndoc_id: 0012345\ntitle: 零开头\n---\n正文")
    write(tmp_path / "b.md", "---\ndoc_id: 12345678901234567890123\ntitle: 长数字\n---\n正文")
    result = load_paths([tmp_path])
    assert [d.doc_id for d in result.documents] == ["0012345", "12345678901234567890123"]
    assert result.errors == []


def test_markdown_defaults_with_minimal_front_matter(tmp_path: Path) -> None:
    [doc] = load_file(write(tmp_path / "p.md", "\ufeff---\r\ndoc_id: p-1\r\ntitle: 某政策\r\n---\r\n内容\r\n"))
    assert (doc.doc_type, doc.region, doc.status, doc.department) == ("policy", "全国", "active", "")
    assert doc.body == "内容"
    assert doc.path == str(tmp_path / "p.md")  # no root: the path as passed


def test_markdown_without_front_matter(tmp_path: Path) -> None:
    sub = tmp_path / "guides"
    [doc] = load_file(write(sub / "notes.md", "前言\n\n# 社保卡办理指南\n\n带身份证。\n"), root=tmp_path)
    assert doc.title == "社保卡办理指南"
    assert doc.doc_id.startswith("file-") and len(doc.doc_id) == len("file-") + 12
    assert doc.path == "guides/notes.md"
    # Stable: the same relative path gives the same id on the next ingest.
    assert load_file(sub / "notes.md", root=tmp_path)[0].doc_id == doc.doc_id
    [no_heading] = load_file(write(tmp_path / "纯文本说明.md", "没有标题的内容"))
    assert no_heading.title == "纯文本说明"


@pytest.mark.parametrize(
    ("front_matter", "reason_part"),
    [
        ("doc_id: a\ntitle: [unclosed\n", "malformed YAML front matter"),
        ("- just\n- a list\n", "front matter must be a mapping"),
        ("title: 无编号\n", "front matter is missing required key(s): doc_id"),
        ("doc_id: a\ntitle: t\ndoc_type: foo\n", "doc_type 'foo' is not one of service_guide, law, policy, faq"),
        ("doc_id: a\ntitle: t\nstatus: gone\n", "status 'gone' is not one of active, repealed, withdrawn, draft"),
        ("doc_id: a\ntitle: t\nexpires: 2025-13-40\n", "front matter key expires must be a date YYYY-MM-DD"),
        ("doc_id: a\ntitle: t\nexpires: 下个月\n", "front matter key expires must be a date YYYY-MM-DD"),
        ("doc_id: a\ntitle: [x, y]\n", "front matter key 'title' must be a single value"),
    ],
)
def test_markdown_bad_front_matter(tmp_path: Path, front_matter: str, reason_part: str) -> None:
    path = write(tmp_path / "bad.md", f"---\n{front_matter}---\n正文")
    with pytest.raises(LoadFailure) as info:
        load_file(path)
    assert reason_part in info.value.reason


def test_malformed_yaml_reports_line_and_others_still_load(tmp_path: Path) -> None:
    write(tmp_path / "a_good.md", "---\ndoc_id: good\ntitle: 好的\n---\n正文")
    write(tmp_path / "b_bad.md", "---\ndoc_id: bad\ntitle: 坏的\nregion: 广州市: 越秀区\n---\n正文")
    write(tmp_path / "c_unclosed.md", "---\ndoc_id: x\ntitle: y\n正文")
    result = load_paths([tmp_path])
    assert [d.doc_id for d in result.documents] == ["good"]
    assert result.files_seen == 3
    reasons = errors_by_name(result)
    assert reasons["b_bad.md"].startswith("malformed YAML front matter: ")
    assert reasons["b_bad.md"].endswith("line 4")  # the line in the file, counting the opening '---'
    assert "never closed" in reasons["c_unclosed.md"]
    assert result.errors[0].path == str(tmp_path / "b_bad.md")


# --- text decoding ---------------------------------------------------------------------------------------------


def test_txt_utf8_bom_gb18030_and_cleanup(tmp_path: Path) -> None:
    write(tmp_path / "bom.txt", "\ufeff第一行\r\n第二行\x00\x07\r\n\tTab保留")
    write(tmp_path / "gb.txt", "公积金提取须知：带身份证。", encoding="gb18030")
    (tmp_path / "binary.txt").write_bytes(b"\x80\xff\x80\xff" * 4)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "notepad.txt").write_bytes("记事本另存为Unicode".encode("utf-16"))  # UTF-16 with BOM
    result = load_paths([tmp_path])
    docs = {d.title: d for d in result.documents}
    assert docs["bom"].body == "第一行\n第二行\n\tTab保留"
    assert docs["gb"].body == "公积金提取须知：带身份证。"
    assert docs["notepad"].body == "记事本另存为Unicode"
    reasons = errors_by_name(result)
    assert reasons["binary.txt"] == "not UTF-8 or GB18030 text"
    assert reasons["empty.txt"] == "no text in file"


# --- HTML ------------------------------------------------------------------------------------------------------


def test_html_drops_chrome_and_keeps_headings(tmp_path: Path) -> None:
    html = """<!DOCTYPE html><html><head><title>居住证办理指南_广州市人民政府</title>
    <style>.x{color:red}</style><script>var tracking = 1;</script></head><body>
    <nav><a href="/">首页</a> <a href="/a">导航菜单</a></nav>
    <h1>居住证办理指南</h1><!-- 注释不要 -->
    <p>申领居住证须<b>本人</b>到场。</p><p>1. 身份证原件<br>2. 照片</p>
    <h2>申请材料</h2><ul><li>身份证</li><li>居住证明</li></ul>
    <h3>咨询电话</h3><table><tr><th>部门</th><th>电话</th></tr><tr><td>派出所</td><td>020-12345678</td></tr></table>
    <footer>版权所有 网站地图</footer><script>alert(1)</script></body></html>"""
    [doc] = load_file(write(tmp_path / "page.html", html))
    assert doc.title == "居住证办理指南_广州市人民政府"
    for dropped in ("tracking", "导航菜单", "版权所有", "alert", "color:red", "注释不要"):
        assert dropped not in doc.body
    lines = doc.body.split("\n")
    expected_lines = (
        "# 居住证办理指南", "申领居住证须本人到场。", "1. 身份证原件", "2. 照片", "## 申请材料",
        "- 身份证", "- 居住证明", "### 咨询电话", "部门 | 电话", "派出所 | 020-12345678",
    )
    for expected in expected_lines:
        assert expected in lines
    assert lines[lines.index("## 申请材料") - 1] == ""  # headings start a new block


def test_html_title_falls_back_to_h1_and_gb18030(tmp_path: Path) -> None:
    html = "<html><body><h1>不动产登记</h1><p>内容</p></body></html>"
    [doc] = load_file(write(tmp_path / "x.htm", html, encoding="gb18030"))
    assert doc.title == "不动产登记"
    assert doc.body == "# 不动产登记\n内容"


# --- PDF -------------------------------------------------------------------------------------------------------


def test_pdf_chinese_cid_font_text_is_extracted(tmp_path: Path) -> None:
    lines = ["住房公积金提取办理指南", "咨询电话：020-12345678", "第二页：办理时限7个工作日"]
    [doc] = load_file(make_pdf(tmp_path / "公积金.pdf", lines, font="STSong-Light"))
    assert doc.title == "公积金"  # no metadata title: the file stem
    assert "住房公积金提取办理指南" in doc.body
    assert "020-12345678" in doc.body
    assert "\n\n第二页：办理时限7个工作日" in doc.body  # pages joined by a blank line


def test_pdf_ascii_text_and_owner_only_encryption(tmp_path: Path) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    owner_only = StandardEncryption("", ownerPassword="owner", canCopy=0)
    pdf = canvas.Canvas(str(tmp_path / "restricted.pdf"), encrypt=owner_only)
    pdf.setTitle("Opening hours")
    pdf.drawString(72, 760, "Open Monday to Friday")
    pdf.save()
    [doc] = load_file(tmp_path / "restricted.pdf")
    assert doc.title == "Opening hours"
    assert "Open Monday to Friday" in doc.body


def test_bad_pdfs_are_reported_and_do_not_stop_the_load(tmp_path: Path) -> None:
    make_pdf(tmp_path / "good.pdf", ["Hello PDF", "line two"])
    (tmp_path / "random.pdf").write_bytes(os.urandom(2048))
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "truncated.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    make_pdf(tmp_path / "locked.pdf", ["secret text"], encrypt="s3cret")
    blank = canvas.Canvas(str(tmp_path / "scanned.pdf"))
    blank.rect(50, 50, 200, 200, fill=1)  # an image-like page: drawing but no text
    blank.save()

    result = load_paths([tmp_path])
    assert [d.title for d in result.documents] == ["good"]
    assert "Hello PDF" in result.documents[0].body
    assert result.files_seen == 6
    reasons = errors_by_name(result)
    assert reasons["random.pdf"] == "not a valid PDF (file header is not %PDF)"
    assert reasons["empty.pdf"] == "not a valid PDF (file is empty)"
    assert reasons["truncated.pdf"].startswith("unreadable PDF: ")
    assert reasons["locked.pdf"] == "PDF is encrypted and needs a password"
    assert reasons["scanned.pdf"] == "no text could be extracted (scanned PDF?)"


# --- DOCX ------------------------------------------------------------------------------------------------------


def test_docx_headings_tables_and_title(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("出生医学证明办理", level=1)
    document.add_paragraph("新生儿出生后办理。")
    document.add_heading("申请材料", level=2)
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("材料", "份数"), ("父母身份证", "1")], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_paragraph("   ")  # empty paragraphs are dropped
    document.save(str(tmp_path / "birth.docx"))

    [doc] = load_file(tmp_path / "birth.docx")
    assert doc.title == "出生医学证明办理"  # no core-properties title: first heading
    assert doc.body == "# 出生医学证明办理\n新生儿出生后办理。\n\n## 申请材料\n材料 | 份数\n父母身份证 | 1"

    document.core_properties.title = "核心属性标题"
    document.save(str(tmp_path / "birth.docx"))
    assert load_file(tmp_path / "birth.docx")[0].title == "核心属性标题"


def test_docx_not_a_zip(tmp_path: Path) -> None:
    (tmp_path / "old.docx").write_bytes(b"\xd0\xcf\x11\xe0 old OLE .doc")
    with pytest.raises(LoadFailure, match=r"not a valid DOCX \(not a ZIP archive"):
        load_file(tmp_path / "old.docx")


# --- JSONL knowledge base ----------------------------------------------------------------------------------------


def test_jsonl_knowledge_base(tmp_path: Path) -> None:
    records = [
        {
            "id": "qa_1",
            "title": "",
            "text": "您好！医保卡丢失可到医保局补办。\n具体见官网。",
            "metadata": {"department": "医保局", "year": 2023},
        },
        {
            "id": "qa_2",
            "title": "自定义标题",
            "text": "正文二",
            "metadata": {"doc_type": "policy", "region": "北京市", "source_url": "https://x"},
        },
        {"id": "qa_3", "title": "", "text": "这是一个非常长的句子没有任何标点符号所以标题会被截断到三十个字符为止后面的都不要"},
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    lines.insert(1, '{"id": "broken", "text": ')  # line 2: not JSON
    lines.append(json.dumps({"id": "qa_4", "title": "没有正文"}, ensure_ascii=False))  # line 5
    lines.append("")  # blank lines are ignored
    lines.append(json.dumps({"id": "qa_1", "text": "重复的编号"}, ensure_ascii=False))  # line 7
    lines.append(json.dumps({"id": "qa_5", "text": "  "}, ensure_ascii=False))  # line 8
    kb = write(tmp_path / "kb.jsonl", "\n".join(lines) + "\n")

    result = load_paths([kb], root=tmp_path)
    docs = {d.doc_id: d for d in result.documents}
    assert list(docs) == ["qa_1", "qa_2", "qa_3"]
    assert docs["qa_1"].title == "您好"  # first sentence, split at ！
    assert (docs["qa_1"].doc_type, docs["qa_1"].region, docs["qa_1"].department) == ("faq", "全国", "医保局")
    assert docs["qa_1"].extra == {"year": 2023}
    assert docs["qa_1"].body == "您好！医保卡丢失可到医保局补办。\n具体见官网。"
    assert docs["qa_1"].path == "kb.jsonl"
    assert (docs["qa_2"].title, docs["qa_2"].doc_type, docs["qa_2"].region) == ("自定义标题", "policy", "北京市")
    assert docs["qa_2"].source_url == "https://x"
    assert docs["qa_3"].title == records[2]["text"][:30]

    errors = {e.path: e.reason for e in result.errors}
    assert errors[f"{kb}:2"].startswith("line is not valid JSON")
    assert errors[f"{kb}:5"] == "missing 'text'"
    assert errors[f"{kb}:7"] == "duplicate id 'qa_1' (first seen on line 1); skipped"
    assert errors[f"{kb}:8"] == "'text' is empty"
    assert len(result.errors) == 4

    # One file at a time: bad lines are either collected or raised, never silently dropped.
    collected: list = []
    assert len(load_file(kb, errors=collected)) == 3 and len(collected) == 4
    with pytest.raises(LoadFailure, match=r"^4 bad record\(s\): line 2: line is not valid JSON"):
        load_file(kb)


def test_duplicate_doc_ids_across_files(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "---\ndoc_id: same\ntitle: 第一\n---\n一")
    write(tmp_path / "b.jsonl", json.dumps({"id": "same", "text": "二"}) + "\n")
    result = load_paths([tmp_path])
    assert [d.title for d in result.documents] == ["第一"]
    [error] = result.errors
    assert error.path == f"{tmp_path / 'b.jsonl'}:1"
    assert str(tmp_path / "a.md") in error.reason and str(tmp_path / "b.jsonl") in error.reason
    assert error.reason.startswith("duplicate doc_id 'same'")


# --- walking, limits, robustness ---------------------------------------------------------------------------------


def test_directory_walk_is_sorted_and_skips_docs_and_hidden(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "b" / "z.md", "# Z\nz")
    write(corpus / "b" / "a.txt", "a")
    write(corpus / "a.md", "# A\na")
    write(corpus / "README.md", "# readme")
    write(corpus / "b" / "SOURCES.md", "# sources")
    write(corpus / "b" / "readme.MD", "# readme lower")
    write(corpus / ".hidden.md", "# hidden")
    write(corpus / ".git" / "inside.md", "# hidden dir")
    write(corpus / "notes.csv", "a,b")
    write(corpus / "image.PNG", "x")

    first = load_paths([corpus], root=corpus)
    assert [d.path for d in first.documents] == ["a.md", "b/a.txt", "b/z.md"]
    assert first.files_seen == 3 and first.errors == []
    # Deterministic, and a file reached twice is loaded once.
    second = load_paths([corpus, corpus / "a.md"], root=corpus)
    assert second.documents == first.documents and second.files_seen == 3


def test_explicit_missing_or_unsupported_paths_are_errors(tmp_path: Path) -> None:
    csv = write(tmp_path / "table.csv", "a,b")
    result = load_paths([tmp_path / "nope.md", csv])
    assert result.documents == [] and result.files_seen == 0
    reasons = errors_by_name(result)
    assert reasons["nope.md"] == "path does not exist"
    assert reasons["table.csv"].startswith("unsupported file type '.csv'")


def test_size_cap_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loaders, "MAX_FILE_BYTES", 100)
    write(tmp_path / "big.txt", "大" * 100)
    write(tmp_path / "small.txt", "小")
    result = load_paths([tmp_path])
    assert [d.title for d in result.documents] == ["small"]
    assert errors_by_name(result)["big.txt"] == "file is larger than 100 bytes (300 bytes)"


def test_unexpected_parser_error_is_contained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zhengwu.documents.loaders._html as html_loader

    def explode(*args: object, **kwargs: object) -> Document:
        raise RuntimeError("boom")

    monkeypatch.setattr(html_loader, "html_document", explode)
    write(tmp_path / "a.html", "<p>x</p>")
    write(tmp_path / "b.txt", "still loaded")
    result = load_paths([tmp_path])
    assert [d.title for d in result.documents] == ["b"]
    assert errors_by_name(result)["a.html"] == "unexpected error: RuntimeError: boom"
