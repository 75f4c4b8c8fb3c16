"""A guide's plain text (from a PDF or a Word file without heading styles) is cut into its fields."""

from zhengwu.documents import Document
from zhengwu.documents.guide_fields import mark_guide_headings
from zhengwu.index.chunking import chunk_document

PDF_TEXT = """犬只登记办事指南
基本信息
事项名称：犬只登记
一、申请材料
1. 犬主身份证
2. 狂犬病免疫证明
办理时限：5个工作日
（三）咨询电话
020-83118888
申请材料不齐全的，一次性告知。"""


def test_heading_lines_become_sections_and_other_lines_stay():
    marked = mark_guide_headings(PDF_TEXT)
    assert "## 申请材料\n1. 犬主身份证" in marked
    assert "## 办理时限\n5个工作日" in marked and "## 咨询电话\n020-83118888" in marked
    assert "申请材料不齐全的，一次性告知。" in marked  # a sentence that merely starts with a field name
    assert "事项名称：犬只登记" in marked


def test_the_marked_guide_is_chunked_into_its_fields():
    doc = Document(doc_id="dog", title="犬只登记", body=mark_guide_headings(PDF_TEXT), doc_type="service_guide")
    fields = {c.field: c.text for c in chunk_document(doc) if c.field}
    assert "狂犬病免疫证明" in fields["materials"] and "5个工作日" in fields["time_limit"]
    assert "020-83118888" in fields["phone"]
