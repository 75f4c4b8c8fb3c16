"""Documents published from the review console win over files with the same ``doc_id``, keep the file's
version as a shadow (a conflict when the file changes) and give it back when the console lets go; other
processes on the same index follow each ingest."""

from __future__ import annotations

import pytest
from helpers import make_settings

from zhengwu.documents.loaders import load_paths
from zhengwu.index import CONSOLE_SOURCE, Index

GUIDE = "11440100007483172Q3440106013004"


def ingest_folder(index: Index, corpus):
    loaded = load_paths([corpus], root=corpus)
    return index.ingest(loaded.documents, str(corpus), errors=loaded.errors)


def texts(index: Index, doc_id: str) -> str:
    return "\n".join(c.text for c in index.store.chunks_of(doc_id))


def console_version(index: Index, corpus, phone: str):
    loaded = load_paths([corpus / "guides" / f"{GUIDE}.md"], root=corpus)
    from dataclasses import replace

    doc = loaded.documents[0]
    return replace(doc, body=doc.body.replace("020-12345", phone))


@pytest.fixture
def index(tmp_path):
    idx = Index(make_settings(tmp_path / "data"))
    yield idx
    idx.close()


def test_the_console_wins_and_the_file_waits_as_a_shadow(index, corpus_copy):
    ingest_folder(index, corpus_copy)
    report = index.ingest([console_version(index, corpus_copy, "020-88887777")], CONSOLE_SOURCE)
    assert report.updated == 1 and "020-88887777" in texts(index, GUIDE)
    shadow = index.store.shadows()[GUIDE]
    assert shadow.source == str(corpus_copy) and shadow.document is None  # taken over, file not re-read yet

    # The file changes on disk: re-ingesting the folder does not overwrite the console's version ...
    guide = corpus_copy / "guides" / f"{GUIDE}.md"
    guide.write_text(guide.read_text(encoding="utf-8").replace("020-12345", "020-11112222"), encoding="utf-8")
    report = ingest_folder(index, corpus_copy)
    assert report.held_by_console == [GUIDE] and report.updated == 0 and report.removed == 0
    assert "020-88887777" in texts(index, GUIDE)
    # ... but is kept, with its new hash, for the console to show as a conflict
    shadow = index.store.shadows()[GUIDE]
    assert shadow.hash != "" and "020-11112222" in shadow.document.body

    # The console lets go: the file's version answers again, without re-reading the folder.
    report = index.ingest([], CONSOLE_SOURCE)
    assert report.restored == [GUIDE] and "020-11112222" in texts(index, GUIDE)
    assert index.store.shadows() == {}
    assert index.store.doc_states()[GUIDE][1] == str(corpus_copy)
    assert index.dense.ids() == {cid for cid, _ in index.store.embedded_chunks()}


def test_handed_back_before_the_file_was_read_again_asks_for_its_source(index, corpus_copy):
    ingest_folder(index, corpus_copy)
    index.ingest([console_version(index, corpus_copy, "020-88887777")], CONSOLE_SOURCE)
    report = index.ingest([], CONSOLE_SOURCE)
    assert report.to_restore == {GUIDE: str(corpus_copy)} and GUIDE not in index.store.doc_states()
    ingest_folder(index, corpus_copy)  # the re-read brings it back
    assert "020-12345" in texts(index, GUIDE)


def test_a_file_removed_while_the_console_holds_its_id_is_forgotten(index, corpus_copy):
    ingest_folder(index, corpus_copy)
    index.ingest([console_version(index, corpus_copy, "020-88887777")], CONSOLE_SOURCE)
    (corpus_copy / "guides" / f"{GUIDE}.md").unlink()
    ingest_folder(index, corpus_copy)
    assert index.store.shadows() == {} and "020-88887777" in texts(index, GUIDE)
    assert index.ingest([], CONSOLE_SOURCE).removed == 1 and GUIDE not in index.store.doc_states()


def test_another_process_follows_each_ingest(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "data")
    writer = Index(settings)
    ingest_folder(writer, corpus_copy)
    reader = Index(settings)  # another worker on the same index
    try:
        assert reader.follow() is False and reader.sparse.chunk_ids == writer.sparse.chunk_ids
        before = reader.version
        writer.ingest([console_version(writer, corpus_copy, "020-88887777")], CONSOLE_SOURCE)
        assert reader.follow() is True and reader.version > before
        assert reader.sparse.chunk_ids == writer.sparse.chunk_ids
        assert reader.follow() is False  # once per change
        assert ingest_folder(writer, corpus_copy).changed is False
        assert reader.follow() is False  # an ingest that changed nothing is not announced
    finally:
        reader.close()
        writer.close()
