"""load_upload: uploaded files held in memory, every fixture generated here (no binary fixtures committed).

Each refusal is checked for what a staff member reads (``zh``), not only for being raised.
"""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

import zhengwu.documents.loaders as loaders
from zhengwu.documents.document import LoadError
from zhengwu.documents.loaders import (
    MAX_UPLOAD_BYTES,
    LoadFailure,
    UploadResult,
    _docx,
    _html,
    _pdf,
    load_file,
    load_paths,
    load_upload,
)
from zhengwu.documents.loaders._common import GENERIC_ZH
from zhengwu.index.chunking import chunk_document

MB = 1024 * 1024


def refused(filename: str, data: bytes, **kwargs: int) -> LoadFailure:
    with pytest.raises(LoadFailure) as info:
        load_upload(filename, data, **kwargs)
    failure = info.value
    assert failure.reason and failure.zh and failure.zh != failure.reason
    return failure


# --- generated files -------------------------------------------------------------------------------------------


def text_pdf(lines: list[str], *, pages: int = 1, title: str | None = None) -> bytes:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    if title:
        pdf.setTitle(title)
    for _ in range(pages):
        pdf.setFont("STSong-Light", 12)
        for offset, line in enumerate(lines):
            pdf.drawString(72, 760 - 20 * offset, line)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def encrypted(pdf: bytes, *, user_password: str, owner_password: str = "owner") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def raw_pdf(content: bytes, *, pages: int = 1, count: int | None = None, compress: bool = True) -> bytes:
    """A hand-written PDF whose pages share one content stream: bombs and page counts cost nothing to make."""
    stream = zlib.compress(content, 9) if compress else content
    flate = b" /Filter /FlateDecode" if compress else b""
    font = 4 + pages
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (4 + i) for i in range(pages))
        + b"] /Count %d >>" % (count if count is not None else pages),
        b"<< /Length %d%s >>\nstream\n" % (len(stream), flate) + stream + b"\nendstream",
        *[b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R"
          b" /Resources << /Font << /F1 %d 0 R >> >> >>" % font] * pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def word_file(paragraphs: list[str], *, heading: str | None = None) -> bytes:
    document = docx.Document()
    if heading:
        document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_file(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504


# --- names, ids, sizes -----------------------------------------------------------------------------------------


def test_text_upload_and_its_id_is_the_file_id(tmp_path: Path) -> None:
    result = load_upload("犬只登记须知.txt", "犬只登记须知\n\n请携带身份证。".encode())
    assert isinstance(result, UploadResult) and result.errors == []
    [doc] = result.documents
    assert (doc.title, doc.path) == ("犬只登记须知", "犬只登记须知.txt")
    assert doc.body == "犬只登记须知\n\n请携带身份证。"
    # The same name gives the same id, on a second upload and as a file on disk outside any corpus root.
    assert load_upload("犬只登记须知.txt", b"other text").documents[0].doc_id == doc.doc_id
    (tmp_path / "犬只登记须知.txt").write_bytes(b"on disk")
    assert load_file(tmp_path / "犬只登记须知.txt")[0].doc_id == doc.doc_id
    assert load_upload("另一个.txt", b"x").documents[0].doc_id != doc.doc_id


@pytest.mark.parametrize(
    ("filename", "path", "title"),
    [
        ("../../etc/passwd\x00.txt", "passwd.txt", "passwd"),
        ("C:\\Users\\张三\\Desktop\\办事指南.TXT", "办事指南.TXT", "办事指南"),
        ("/tmp/../通知.txt. . ", "通知.txt", "通知"),  # Windows drops trailing dots and spaces
        ("指南\r\n\t名称.txt", "指南 名称.txt", "指南 名称"),
        ("通知.ＴＸＴ", "通知.ＴＸＴ", "通知"),  # full-width suffix letters
    ],
)
def test_untrusted_file_names_are_reduced_to_a_clean_base_name(filename: str, path: str, title: str) -> None:
    [doc] = load_upload(filename, "正文".encode()).documents
    assert (doc.path, doc.title) == (path, title)
    assert doc.doc_id == load_upload(path, b"x").documents[0].doc_id  # keyed on the cleaned name


def test_a_very_long_name_keeps_its_suffix_and_a_bounded_length() -> None:
    [doc] = load_upload("长" * 10_000 + ".md", "# 标题\n\n正文".encode()).documents
    assert doc.path.endswith(".md") and len(doc.path) <= 255
    assert doc.title == "标题"
    assert doc.doc_id.startswith("file-")


@pytest.mark.parametrize("filename", ["", "README", "..", "/", "\x00", "文件.", "表格.xlsx", "图片.png", "a.pdf.exe"])
def test_names_without_a_supported_suffix_are_refused(filename: str) -> None:
    failure = refused(filename, b"some bytes")
    assert "扩展名" in failure.zh or "不支持" in failure.zh
    assert ".pdf" in failure.zh and ".docx" in failure.zh  # says what would work


def test_an_old_doc_file_is_told_to_be_saved_as_docx() -> None:
    failure = refused("旧文件.doc", OLE_HEADER)
    assert "另存为" in failure.zh and ".docx" in failure.zh


def test_a_file_over_the_size_cap_is_refused_before_it_is_read() -> None:
    payload = b"%PDF-1.4\n" + b"\0" * (50 * MB + 1 - 9)
    started = time.perf_counter()
    failure = refused("大文件.pdf", payload)
    assert time.perf_counter() - started < 0.5
    assert failure.zh.startswith("文件大小 50.0 MB，超过上限 20 MB")
    assert failure.reason == "file is larger than 20 MB (50 MB)"
    assert MAX_UPLOAD_BYTES == 20 * MB


def test_the_size_cap_can_be_lowered_and_accepts_memoryview() -> None:
    assert "超过上限 1 KB" in refused("a.txt", b"x" * 1025, max_bytes=1024).zh
    assert load_upload("a.txt", memoryview(b"x" * 1024), max_bytes=1024).documents[0].body == "x" * 1024


def test_a_wrong_suffix_is_pointed_out() -> None:
    pdf = text_pdf(["Hello"])
    failure = refused("指南.docx", pdf)
    assert "不是 Word" in failure.zh and "看起来是PDF" in failure.zh and ".pdf" in failure.zh
    failure = refused("指南.pdf", word_file(["正文"]))
    assert "不是 PDF" in failure.zh and "Word" in failure.zh and ".docx" in failure.zh
    failure = refused("扫描件", pdf)  # no suffix at all
    assert "没有扩展名" in failure.zh and ".pdf" in failure.zh


# --- PDF -------------------------------------------------------------------------------------------------------


def test_pdf_with_chinese_text_and_title() -> None:
    [doc] = load_upload("x.pdf", text_pdf(["犬只登记办事指南", "申请材料：身份证"], title="犬只登记")).documents
    assert doc.title == "犬只登记" and "申请材料：身份证" in doc.body


def test_encrypted_pdf_needs_a_password() -> None:
    locked = encrypted(text_pdf(["机密"]), user_password="secret")
    failure = refused("加密.pdf", locked)
    assert failure.zh == "PDF 文件已加密，需要密码才能读取。请上传未加密的版本。"
    assert failure.reason == "PDF is encrypted and needs a password"


def test_owner_password_only_pdf_opens_like_in_any_viewer() -> None:
    restricted = encrypted(text_pdf(["Printing restricted"]), user_password="")
    assert "Printing restricted" in load_upload("x.pdf", restricted).documents[0].body


@pytest.mark.parametrize(
    ("data", "wanted"),
    [
        (b"", "空的"),
        (b"<html>not a pdf</html>", "不是 PDF"),
        (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", "损坏"),
    ],
)
def test_not_a_pdf_or_damaged(data: bytes, wanted: str) -> None:
    assert wanted in refused("x.pdf", data).zh


def test_scanned_pdf_without_text_layer() -> None:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    failure = refused("扫描件.pdf", out.getvalue())
    assert "扫描件" in failure.zh and "OCR" in failure.zh


def test_pdf_decompression_bomb_fails_fast_and_small() -> None:
    bomb = raw_pdf(b"BT /F1 12 Tf (Hello) Tj ET\n" + b" " * (64 * MB))
    assert len(bomb) < 200 * 1024
    tracemalloc.start()
    started = time.perf_counter()
    try:
        failure = refused("bomb.pdf", bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5
    assert peak < 100 * MB
    assert "异常" in failure.zh and "拒绝" in failure.zh
    assert "LimitReachedError" in failure.reason


def test_pdf_page_count_is_capped_declared_or_real(monkeypatch: pytest.MonkeyPatch) -> None:
    page = b"BT /F1 12 Tf 72 700 Td (Hello) Tj ET"
    failure = refused("x.pdf", raw_pdf(page, count=10**9))  # the /Count it claims, read before the page tree
    assert "PDF 共 1000000000 页，超过上限 2000 页" in failure.zh
    assert "PDF 共 2001 页，超过上限 2000 页" in refused("x.pdf", raw_pdf(page, pages=2001)).zh
    monkeypatch.setattr(_pdf, "UPLOAD_LIMITS", _pdf.PdfLimits(max_pages=3))
    assert "超过上限 3 页" in refused("x.pdf", raw_pdf(page, pages=4, count=1)).zh  # a /Count that lies
    assert len(load_upload("x.pdf", raw_pdf(page, pages=3)).documents[0].body.split("Hello")) == 4


def test_pdf_extraction_has_a_deadline_even_inside_one_page(monkeypatch: pytest.MonkeyPatch) -> None:
    page = b"BT /F1 12 Tf 72 700 Td " + b"(Hello) Tj " * 60_000 + b"ET"
    monkeypatch.setattr(_pdf, "UPLOAD_LIMITS", _pdf.PdfLimits(max_seconds=0.2))
    started = time.perf_counter()
    failure = refused("慢.pdf", raw_pdf(page, pages=2))
    assert time.perf_counter() - started < 3
    assert "秒内未能读完" in failure.zh and "已读 0 页" in failure.zh and "拆分" in failure.zh


def test_files_on_disk_keep_pypdf_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pdf, "UPLOAD_LIMITS", _pdf.PdfLimits(max_pages=1))
    (tmp_path / "two.pdf").write_bytes(raw_pdf(b"BT /F1 12 Tf 72 700 Td (Hello) Tj ET", pages=2))
    [doc] = load_file(tmp_path / "two.pdf")
    assert doc.body.count("Hello") == 2


# --- DOCX ------------------------------------------------------------------------------------------------------


def test_docx_upload() -> None:
    [doc] = load_upload("指南.docx", word_file(["请携带身份证。"], heading="犬只登记")).documents
    assert doc.title == "犬只登记" and doc.body == "# 犬只登记\n请携带身份证。"


def test_docx_many_paragraphs_is_quick() -> None:
    started = time.perf_counter()
    [doc] = load_upload("长文.docx", word_file([f"第{i}段。" for i in range(3000)])).documents
    assert time.perf_counter() - started < 5
    assert doc.body.count("段。") == 3000


def test_docx_zip_bomb_is_refused_before_python_docx_opens_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("python-docx opened a ZIP bomb")

    bomb = zip_file({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\0" * (8 * MB)})
    assert len(bomb) < 50 * 1024
    monkeypatch.setattr(docx, "Document", must_not_open)
    failure = refused("炸弹.docx", bomb)
    assert "解压后的体积大得异常" in failure.zh and "压缩比" in failure.zh
    assert "ZIP bomb" in failure.reason


def test_docx_total_uncompressed_size_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_docx, "MAX_UNCOMPRESSED_BYTES", 1 * MB)
    members = {"word/document.xml": b"<w:document/>", "word/media/image1.png": bytes(range(256)) * 8192}
    failure = refused("图多.docx", zip_file(members, method=zipfile.ZIP_STORED))
    assert "解压后共 2.0 MB，上限 1.0 MB" in failure.zh


def test_docx_member_count_is_capped() -> None:
    members = {f"word/media/{i}.xml": b"" for i in range(_docx.MAX_MEMBERS + 1)}
    failure = refused("许多.docx", zip_file(members, method=zipfile.ZIP_STORED))
    assert f"超过 {_docx.MAX_MEMBERS} 个内部文件" in failure.zh


def test_docx_text_parts_are_capped_for_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_docx, "UPLOAD_MAX_XML_BYTES", 64 * 1024)
    data = word_file(["文字" * 20] * 2000)
    assert "文字内容过多" in refused("长.docx", data).zh


@pytest.mark.parametrize(
    ("data", "wanted"),
    [
        (OLE_HEADER, "旧版 Word"),
        (OLE_HEADER + "EncryptedPackage".encode("utf-16-le"), "密码"),
        (b"plain text, not a zip", "不是 Word"),
        (b"PK\x03\x04" + b"\0" * 64, "损坏"),
        (zip_file({"xl/workbook.xml": b"<workbook/>"}), "Excel"),
        (zip_file({"notes.txt": b"hello"}), "ZIP 压缩包"),
        (zip_file({"[Content_Types].xml": b"<broken", "word/document.xml": b"<broken"}), "损坏"),
    ],
)
def test_docx_that_is_not_a_word_document(data: bytes, wanted: str) -> None:
    assert wanted in refused("x.docx", data).zh


def test_docx_without_text() -> None:
    assert "没有文字内容" in refused("空白.docx", word_file([])).zh


# --- Markdown front matter -------------------------------------------------------------------------------------


GOOD_FRONT = "---\ndoc_id: dog-1\ntitle: 犬只登记\ndoc_type: service_guide\n"


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("---\ndoc_id: a\ntitle: 标题\n\n正文没有结束的分隔线", "没有单独一行 --- 把它结束"),
        ("---\ndoc_id: a\ntitle: [未闭合\n---\n正文", "第 3 行附近格式有误"),
        ("---\ndoc_id: a\ntitle: 关于: 某事\n---\n正文", "第 3 行附近格式有误"),
        ("---\ndoc_id: a\n\ttitle: 制表符\n---\n正文", "第 3 行附近格式有误"),
        ("---\n- doc_id\n- title\n---\n正文", "现在却是一个列表"),
        ("---\n只是一句话\n---\n正文", "现在却是一段文字"),
        ("---\ndoc_id: a\n---\n正文", "缺少必填项：title（标题）"),
        ("---\ntitle: 标题\n---\n正文", "缺少必填项：doc_id（文档编号）"),
        (GOOD_FRONT.replace("service_guide", "guide") + "---\n正文", "文档类型（doc_type）的值“guide”无效"),
        ("---\ndoc_id: a\ntitle: t\nstatus: 有效\n---\n正文", "状态（status）的值“有效”无效"),
        ("---\ndoc_id: a\ntitle: t\nexpires: 明年\n---\n正文", "失效日期（expires）必须写成 YYYY-MM-DD"),
        ("---\ndoc_id: [a, b]\ntitle: t\n---\n正文", "doc_id 只能填写一个值"),
        ("---\ndoc_id: a\ntitle: t\n---\n", "没有正文内容"),
        ("---\ndoc_id: a\ntitle: t\nx: " + "[" * 5000 + "\n---\n正文", "元数据"),
        ("---\nnote: |\n" + "  很长的一行\n" * 40_000 + "---\n正文", "太长"),
    ],
)
def test_broken_front_matter(text: str, wanted: str) -> None:
    failure = refused("指南.md", text.encode())
    assert wanted in failure.zh, failure.zh


def test_billion_laughs_front_matter_is_refused_quickly() -> None:
    lines = ["---", "doc_id: a", "title: t", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    started = time.perf_counter()
    failure = refused("laughs.md", ("\n".join([*lines, "---", "正文"])).encode())
    assert time.perf_counter() - started < 2
    assert "引用" in failure.zh


def test_good_front_matter_and_heading_lines_that_would_make_patterns_backtrack() -> None:
    text = GOOD_FRONT + "---\n# 犬只登记\n\n## 申请材料\n身份证\n# a" + " " * 20_000 + "x\n## b" + "#" * 20_000 + "c\n"
    started = time.perf_counter()
    [doc] = load_upload("指南.md", text.encode()).documents
    chunks = chunk_document(doc)
    assert time.perf_counter() - started < 2
    assert (doc.doc_id, doc.title, doc.doc_type) == ("dog-1", "犬只登记", "service_guide")
    assert "\n# a x\n" in doc.body  # the run of spaces squeezed
    assert "\n\\## b###" in doc.body  # 20,000 characters are no heading: escaped as Markdown text
    assert any(c.field == "materials" for c in chunks)


def test_markdown_without_front_matter_takes_its_h1_as_title() -> None:
    [doc] = load_upload("x.md", "前言\n\n# 犬只登记 #\n\n正文".encode()).documents
    assert doc.title == "犬只登记"


# --- HTML, text ------------------------------------------------------------------------------------------------


def test_html_upload() -> None:
    page = "<html><head><title>犬只登记</title><script>alert(1)</script></head><body><h2>申请材料</h2><p>身份证</p></body></html>"
    [doc] = load_upload("page.html", page.encode()).documents
    assert doc.title == "犬只登记" and doc.body == "## 申请材料\n身份证"


def test_html_nested_100000_deep() -> None:
    started = time.perf_counter()
    failure = refused("deep.html", ("<div>" * 100_000 + "文字" + "</div>" * 100_000).encode())
    assert time.perf_counter() - started < 3
    assert "嵌套层数过深" in failure.zh


@pytest.mark.parametrize("markup", ["<!--" * 100_000, "<a" * 100_000, "<!" * 100_000, "<p>x</" * 50_000])
def test_html_that_makes_html_parser_quadratic_is_quick(markup: str) -> None:
    started = time.perf_counter()
    try:
        load_upload("bad.htm", markup.encode())
    except LoadFailure as exc:
        assert "网页" in exc.zh
    assert time.perf_counter() - started < 3


def test_html_without_text() -> None:
    failure = refused("img.html", b"<html><body><img src='a.png'><script>var a = 1;</script></body></html>")
    assert "没有可用的正文文字" in failure.zh


def test_html_with_too_many_elements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_html, "UPLOAD_MAX_ELEMENTS", 100)
    assert "超过 100 个标签" in refused("big.html", ("<p>段落</p>" * 200).encode()).zh
    assert len(load_upload("ok.html", ("<p>段落</p>" * 50).encode()).documents) == 1


def test_text_encodings() -> None:
    assert load_upload("gbk.txt", "办理时限：五个工作日".encode("gb18030")).documents[0].body == "办理时限：五个工作日"
    assert load_upload("utf16.txt", "通知".encode("utf-16")).documents[0].body == "通知"
    failure = refused("binary.txt", b"\x80\xff\xfe\x00\x81" * 20)
    assert "UTF-8" in failure.zh and "GB18030" in failure.zh and "另存为" in failure.zh
    assert "没有文字内容" in refused("empty.txt", b" \n\t\n").zh


# --- JSONL -----------------------------------------------------------------------------------------------------


def test_jsonl_partly_bad_returns_good_records_and_chinese_errors() -> None:
    lines = [
        '{"id": "q1", "title": "犬只登记要多久？", "text": "五个工作日。"}',
        '{"id": "q1", "text": "重复"}',
        "不是 JSON",
        '{"id": "q3"}',
        '{"id": "q4", "text": "x", "metadata": {"status": "live"}}',
        '["list"]',
    ]
    result = load_upload("kb.jsonl", "\n".join(lines).encode())
    assert [d.doc_id for d in result.documents] == ["q1"]
    assert [e.path for e in result.errors] == ["kb.jsonl:2", "kb.jsonl:3", "kb.jsonl:4", "kb.jsonl:5", "kb.jsonl:6"]
    zh = [e.zh for e in result.errors]
    assert zh[0].startswith("第 2 行：") and "与第 1 行重复" in zh[0]
    assert zh[1].startswith("第 3 行：不是有效的 JSON")
    assert "缺少正文" in zh[2]
    assert "状态（status）的值“live”无效" in zh[3]
    assert "JSON 对象" in zh[4]
    assert all(e.reason and e.reason != e.zh for e in result.errors)


def test_jsonl_errors_are_capped_with_one_closing_count() -> None:
    result = load_upload("bad.jsonl", b"x\n" * 1000)
    assert result.documents == []
    assert len(result.errors) == loaders.MAX_UPLOAD_ERRORS + 1
    assert result.errors[-1].zh.startswith(f"另有 {1000 - loaders.MAX_UPLOAD_ERRORS} 行有误")


def test_jsonl_record_count_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loaders, "MAX_UPLOAD_RECORDS", 10)
    data = "\n".join(f'{{"id": "{i}", "text": "答{i}"}}' for i in range(11)).encode()
    assert "超过 10 条上限" in refused("kb.jsonl", data).zh
    assert "没有任何记录" in refused("empty.jsonl", b"\n\n").zh


# --- everything else -------------------------------------------------------------------------------------------


def test_a_parser_bug_is_still_a_load_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(_html, "html_document", explode)
    failure = refused("a.html", b"<p>x</p>")
    assert failure.reason == "unexpected error: RuntimeError: boom"
    assert "意外错误" in failure.zh and "管理员" in failure.zh


def test_load_failure_default_message_and_load_error_compatibility() -> None:
    assert LoadFailure("whatever").zh == GENERIC_ZH and GENERIC_ZH.startswith("文件无法读取：")
    error = LoadError("a.md", "bad")  # positional, as before
    assert error.zh == "" and LoadError("a.md", "bad", zh="坏了").zh == "坏了"
    with pytest.raises(AttributeError):
        error.zh = "x"  # type: ignore[misc]


def test_files_on_disk_carry_the_chinese_message_too(tmp_path: Path) -> None:
    (tmp_path / "locked.pdf").write_bytes(encrypted(text_pdf(["机密"]), user_password="secret"))
    (tmp_path / "bad.jsonl").write_text('{"id": "1", "text": "a"}\nnope\n', encoding="utf-8")
    result = load_paths([tmp_path])
    by_name = {Path(e.path.split(":")[0]).name: e for e in result.errors}
    assert "加密" in by_name["locked.pdf"].zh
    assert by_name["bad.jsonl"].zh.startswith("第 2 行：")
    with pytest.raises(LoadFailure) as info:
        load_file(tmp_path / "bad.jsonl")
    assert info.value.zh.startswith("文件中有 1 条记录有误：第 2 行：")


PREFIXES = [b"", b"%PDF-1.4\n", b"PK\x03\x04", b"---\n", b"<html><body>", b'{"id": "1", "text": "', b"\xef\xbb\xbf"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stem=st.text(max_size=300),
    suffix=st.sampled_from(["", ".pdf", ".PDF", ".docx", ".md", ".markdown", ".html", ".htm", ".txt", ".jsonl", ".exe"]),
    prefix=st.sampled_from(PREFIXES),
    data=st.binary(max_size=4096),
)
def test_any_name_and_any_bytes_only_load_or_raise_load_failure(stem: str, suffix: str, prefix: bytes,
                                                                 data: bytes) -> None:
    try:
        result = load_upload(stem + suffix, prefix + data)
    except LoadFailure as exc:
        assert exc.reason and exc.zh
        return
    for doc in result.documents:
        assert doc.body and "/" not in doc.path and "\x00" not in doc.path and len(doc.path) <= 255
    assert all(error.zh for error in result.errors)
