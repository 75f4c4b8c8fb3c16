from zhengwu.retrieval.langchain import ZhengwuRetriever
from zhengwu.retrieval.retriever import Filters, Retriever


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


def test_the_first_five_results_show_the_law_behind_a_guide_question(fixture_index):
    """The fixture corpus has five guides: a guide question still sees a law among its first five results
    (the fusion formulas themselves: unit/retrieval/test_fusion.py)."""
    hits = Retriever(fixture_index).retrieve("弩的运输审批", k=10)
    assert hits[0].doc.title == "弩的运输审批"
    assert {h.doc.doc_type for h in hits[:5]} >= {"service_guide", "law"}


def test_a_vector_store_outage_is_reported_and_answered_from_bm25(fixture_index, monkeypatch):
    """The dense leg failing costs recall, not the answer; the health callback hears of every failed query and
    once of the recovery."""
    health = []
    retriever = Retriever(fixture_index, on_dense_health=health.append)
    real_query = fixture_index.dense.query

    def down(*_args, **_kwargs):
        raise ConnectionError("chroma down")

    monkeypatch.setattr(fixture_index.dense, "query", down)
    assert retriever.retrieve("实验动物生产许可需要什么材料", k=3)[0].doc.title == "实验动物生产许可(新申请)"
    retriever.retrieve("弩的运输审批", k=3)
    monkeypatch.setattr(fixture_index.dense, "query", real_query)
    retriever.retrieve("弩的运输审批", k=3)
    assert health == [False, False, True]


def test_langchain_retriever_returns_cited_documents(assistant):
    retriever = ZhengwuRetriever(retriever=assistant.retriever, k=3)
    docs = retriever.invoke("居民身份证的有效期")
    assert docs and docs[0].metadata["title"] == "中华人民共和国居民身份证法"
    assert docs[0].metadata["source_url"].startswith("http")
    assert "有效期" in docs[0].page_content


def test_repeated_questions_are_served_from_the_result_cache_until_the_index_changes(fixture_index, monkeypatch):
    retriever = Retriever(fixture_index)
    first = retriever.retrieve("弩的运输审批", k=5)
    calls = []
    real = retriever.candidates
    monkeypatch.setattr(retriever, "candidates", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    again = retriever.retrieve("弩的运输审批", k=5)
    assert calls == [] and [h.doc.doc_id for h in again] == [h.doc.doc_id for h in first]
    again[0].chunks.clear()  # a caller changing its copy does not change the cached result
    assert retriever.retrieve("弩的运输审批", k=5)[0].chunks == first[0].chunks
    retriever.retrieve("弩的运输审批", Filters(regions=("广东省", "全国")), k=5)  # other filters: computed
    assert calls == [1]
    fixture_index.version += 1  # what an ingest or a BM25 rebuild does
    try:
        retriever.retrieve("弩的运输审批", k=5)
        assert calls == [1, 1]
    finally:
        fixture_index.version -= 1


def test_a_result_computed_without_the_dense_leg_is_not_cached(fixture_index, monkeypatch):
    retriever = Retriever(fixture_index)
    real_query = fixture_index.dense.query

    def down(*_args, **_kwargs):
        raise ConnectionError("chroma down")

    monkeypatch.setattr(fixture_index.dense, "query", down)
    retriever.retrieve("实验动物生产许可需要什么材料", k=3)
    monkeypatch.setattr(fixture_index.dense, "query", real_query)
    queried = []
    monkeypatch.setattr(fixture_index.dense, "query", lambda *a, **kw: queried.append(1) or real_query(*a, **kw))
    retriever.retrieve("实验动物生产许可需要什么材料", k=3)
    assert queried == [1]  # asked again, now with the dense leg
