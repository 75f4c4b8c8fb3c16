from zhengwu.retrieval.langchain import ZhengwuRetriever
from zhengwu.retrieval.retriever import Filters, Retriever, diversify, title_match


def test_named_item_ranks_first(fixture_index):
    hits = Retriever(fixture_index).retrieve("实验动物生产许可需要什么材料", k=5)
    assert hits[0].doc.title == "实验动物生产许可(新申请)"
    assert hits[0].title == 1.0


def test_region_filter_excludes_other_regions(fixture_index):
    hits = Retriever(fixture_index).retrieve("弩的运输审批", Filters(regions=("广东省", "全国")), k=10)
    assert hits and all(h.doc.region in ("广东省", "全国") for h in hits)


def test_doc_type_filter(fixture_index):
    hits = Retriever(fixture_index).retrieve("居民身份证", Filters(doc_types=("law",)), k=10)
    assert hits and all(h.doc.doc_type == "law" for h in hits)


def test_title_match():
    assert title_match("弩的运输审批的电话", "弩的运输审批") == 1.0
    assert title_match("身份证", "中华人民共和国居民身份证法") == 0.0  # a word in common is not naming it
    assert 0.4 < title_match("实验动物生产许可新申请", "实验动物生产许可(新申请)") <= 1.0


def test_diversify_keeps_the_best_and_makes_room_for_other_types(fixture_index):
    hits = Retriever(fixture_index).retrieve("弩的运输审批", k=10)
    guides = [h for h in hits if h.doc.doc_type == "service_guide"]
    others = [h for h in hits if h.doc.doc_type != "service_guide"]
    reordered = diversify(guides + others)
    assert reordered[0] is guides[0]
    if others:
        assert any(h.doc.doc_type != "service_guide" for h in reordered[:5])


def test_langchain_retriever_returns_cited_documents(assistant):
    retriever = ZhengwuRetriever(retriever=assistant.retriever, k=3)
    docs = retriever.invoke("居民身份证的有效期")
    assert docs and docs[0].metadata["title"] == "中华人民共和国居民身份证法"
    assert docs[0].metadata["source_url"].startswith("http")
    assert "有效期" in docs[0].page_content
