import re

from helpers import FIXTURE_CORPUS

from zhengwu.documents.document import Document
from zhengwu.documents.loaders import load_file
from zhengwu.index.chunking import MAX_CHUNK_CHARS, chunk_document, embed_text

GUIDE = FIXTURE_CORPUS / "guides" / "11440100007483172Q3440106013004.md"
LAW = FIXTURE_CORPUS / "laws" / "中华人民共和国居民身份证法.md"


def test_guide_is_split_by_field_and_every_chunk_keeps_item_and_region():
    (doc,) = load_file(GUIDE)
    chunks = chunk_document(doc)
    fields = {c.field for c in chunks if c.kind == "field"}
    assert {"basic", "materials", "time_limit", "location", "phone", "complaint", "online"} <= fields
    for chunk in chunks:
        assert "弩的运输审批" in chunk.context and "广州市" in chunk.context
    phone = next(c for c in chunks if c.field == "phone")
    assert phone.chunk_id == f"{doc.doc_id}#phone"
    assert "020-12345" in phone.text


def test_guide_has_one_short_dense_card():
    (doc,) = load_file(GUIDE)
    cards = [c for c in chunk_document(doc) if c.embed]
    assert len(cards) == 1 and cards[0].kind == "card"
    assert len(embed_text(cards[0], 320)) < 80


def test_law_articles_are_never_split_and_keep_title_and_number():
    (doc,) = load_file(LAW)
    articles = [c for c in chunk_document(doc) if c.kind == "article"]
    in_body = re.findall(r"^第[一二三四五六七八九十百千零]+条", doc.body, flags=re.M)
    assert len(articles) == len(in_body)
    for chunk in articles:
        assert chunk.text.startswith(chunk.section)
        assert chunk.context.startswith("中华人民共和国居民身份证法")
    fifth = next(c for c in articles if c.section == "第五条")
    # 第五条 has two paragraphs: both stay in one chunk
    assert "有效期五年" in fifth.text and "有效期为十年" in fifth.text


def test_chunk_ids_are_stable():
    (doc,) = load_file(LAW)
    first = [c.chunk_id for c in chunk_document(doc)]
    second = [c.chunk_id for c in chunk_document(doc)]
    assert first == second and len(set(first)) == len(first)


def test_generic_text_is_cut_at_sentence_ends_within_the_bound():
    sentence = "申请人应当提交身份证明材料和相关证明文件。"
    doc = Document(doc_id="p1", title="测试", body="# 测试\n\n## 第一部分\n\n" + sentence * 60)
    chunks = chunk_document(doc)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk.text) <= MAX_CHUNK_CHARS
        assert chunk.text.endswith("。")
        assert chunk.section == "第一部分"
        assert chunk.embed


def test_dense_scope_all_embeds_every_chunk():
    (doc,) = load_file(LAW)
    assert all(c.embed for c in chunk_document(doc, dense_scope="all"))
