"""The document library: drafts are never answered from, publishing is, every change is a version and a line
in the trail, a roll-back restores the earlier text, a withdrawal stops answers on its date, and console and
disk never silently overwrite each other."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from helpers import make_assistant, make_settings
from helpers.databases import sqlite_people
from helpers.documents import DOG_GUIDE as DOG

from zhengwu.documents.loaders import load_paths
from zhengwu.index import CONSOLE_SOURCE, Index
from zhengwu.library import Library, LibraryStore, Refused
from zhengwu.library.publisher import reindex_folder

ADMIN = "console:alice"
FILE_GUIDE = "11440100007483172Q3440106013004"  # 弩的运输审批, a fixture file


@pytest.fixture
def env(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "data", corpus_dir=corpus_copy)
    index = Index(settings)
    loaded = load_paths([corpus_copy], root=corpus_copy)
    index.ingest(loaded.documents, str(corpus_copy.resolve()), errors=loaded.errors)
    with sqlite_people(tmp_path / "people.sqlite3") as people:
        library = Library(LibraryStore(people.engine), index, settings)
        yield library, settings, people
    index.close()


def settle(library: Library) -> None:
    assert library.publisher.wait(60), "the index job did not finish"


def text_of(library: Library, doc_id: str) -> str:
    return "\n".join(c.text for c in library.index.store.chunks_of(doc_id))


def upload_dog(library: Library, days: int = 5):
    outcome = library.upload("dog.md", DOG.format(days=days).encode(), ADMIN)
    assert not outcome.errors and len(outcome.versions) == 1
    return outcome.versions[0]


def test_a_draft_is_not_answered_from_until_published(env):
    library, settings, people = env
    draft = upload_dog(library)
    assert draft.version == 1 and not draft.blocking
    assert "gz-dog-licence" not in library.index.documents()  # a draft: citizens cannot see it
    preview = library.preview(draft)
    assert {c.field for c in preview.chunks} >= {"materials", "time_limit", "phone"}

    job = library.publish("gz-dog-licence", 1, ADMIN)
    settle(library)
    finished = library.store.job(job.id)
    assert finished.state == "done" and finished.done == finished.total == 1 and finished.report["added"] == 1
    assert library.index.store.doc_states()["gz-dog-licence"][1] == CONSOLE_SOURCE

    assistant = make_assistant(settings, library.index)
    answer = assistant.ask("广州办犬只登记要多久", user={"region": "广州市"})
    assert answer.status == "answered", answer.text
    assert any(c.doc_id == "gz-dog-licence" for c in answer.citations) and "5个工作日" in answer.text


def test_roll_back_restores_the_earlier_text_as_a_new_version(env):
    library, settings, _ = env
    upload_dog(library, days=5)
    library.publish("gz-dog-licence", 1, ADMIN)
    settle(library)
    second = upload_dog(library, days=9)
    assert second.version == 2 and second.based_on is None
    library.publish("gz-dog-licence", 2, ADMIN)
    settle(library)
    assert "9个工作日" in text_of(library, "gz-dog-licence")

    library.rollback("gz-dog-licence", 1, ADMIN)
    settle(library)
    entry = library.store.entry("gz-dog-licence")
    assert entry.published_version == 3 and entry.latest.origin == "rollback" and entry.latest.based_on == 1
    assert "5个工作日" in text_of(library, "gz-dog-licence") and "9个工作日" not in text_of(library, "gz-dog-licence")
    actions = [(e.action, e.version) for e in library.store.events("gz-dog-licence")]
    assert actions[:2] == [("publish", 3), ("rollback", 3)]
    publish = library.store.events("gz-dog-licence")[0]
    assert publish.actor == ADMIN and publish.before["version"] == 2 and publish.after["version"] == 3


def test_withdrawal_stops_answers_on_its_effective_date(env):
    library, settings, _ = env
    upload_dog(library)
    library.publish("gz-dog-licence", 1, ADMIN)
    settle(library)
    today = date.today()
    retriever = make_assistant(settings, library.index).retriever

    library.withdraw("gz-dog-licence", "withdrawn", today + timedelta(days=10), ADMIN)
    settle(library)
    meta = library.index.documents()["gz-dog-licence"]
    assert meta.status == "active" and meta.extra["expires"] == (today + timedelta(days=10)).isoformat()
    assert retriever.passes(meta, retriever_filters(), today)
    assert not retriever.passes(meta, retriever_filters(), today + timedelta(days=10))

    library.withdraw("gz-dog-licence", "withdrawn", today, ADMIN, note="事项已取消")
    settle(library)
    meta = library.index.documents()["gz-dog-licence"]
    assert meta.status == "withdrawn" and not retriever.passes(meta, retriever_filters(), today)
    answer = make_assistant(settings, library.index).ask("广州办犬只登记要多久", user={"region": "广州市"})
    assert all(c.doc_id != "gz-dog-licence" for c in answer.citations)
    event = library.store.events("gz-dog-licence")[0]
    assert event.action == "withdraw" and event.after["status"] == "withdrawn" and event.detail == "事项已取消"


def retriever_filters():
    from zhengwu.retrieval.retriever import Filters

    return Filters()


def test_a_file_document_withdrawn_in_the_console_is_taken_over_from_its_file(env):
    library, _, _ = env
    library.withdraw(FILE_GUIDE, "withdrawn", date.today(), ADMIN)
    settle(library)
    version = library.store.entry(FILE_GUIDE).latest
    assert version.document.status == "withdrawn" and "弩的运输审批" in version.document.body  # the file's text
    assert version.disk_hash is not None
    assert library.index.documents()[FILE_GUIDE].status == "withdrawn"


def test_console_and_disk_never_silently_overwrite_each_other(env):
    library, settings, _ = env
    library.withdraw(FILE_GUIDE, "withdrawn", date.today() + timedelta(days=30), ADMIN)
    settle(library)
    assert library.conflict(FILE_GUIDE) is None

    guide = settings.corpus_dir / "guides" / f"{FILE_GUIDE}.md"
    guide.write_text(guide.read_text(encoding="utf-8").replace("020-12345", "020-66667777"), encoding="utf-8")
    report = reindex_folder(library.index, settings)
    assert report.held_by_console == [FILE_GUIDE]
    assert "020-66667777" not in text_of(library, FILE_GUIDE)  # the console's version still answers
    conflict = library.conflict(FILE_GUIDE)
    assert conflict is not None and "020-66667777" in conflict.document.body
    assert [r.doc_id for r in library.rows() if r.conflict] == [FILE_GUIDE]

    library.keep(FILE_GUIDE, ADMIN)  # the console's text stays; the file's change is acknowledged
    settle(library)
    assert library.conflict(FILE_GUIDE) is None and "020-66667777" not in text_of(library, FILE_GUIDE)

    guide.write_text(guide.read_text(encoding="utf-8").replace("020-66667777", "020-55554444"), encoding="utf-8")
    reindex_folder(library.index, settings)
    draft = library.take_disk(FILE_GUIDE, ADMIN)  # this time the file wins: a draft to publish
    assert "020-55554444" in draft.document.body and library.conflict(FILE_GUIDE) is not None
    library.publish(FILE_GUIDE, draft.version, ADMIN)
    settle(library)
    assert "020-55554444" in text_of(library, FILE_GUIDE) and library.conflict(FILE_GUIDE) is None


def test_handing_back_restores_the_file_version(env):
    library, settings, _ = env
    library.withdraw(FILE_GUIDE, "withdrawn", date.today(), ADMIN)
    settle(library)
    library.release(FILE_GUIDE, ADMIN)
    settle(library)
    meta = library.index.documents()[FILE_GUIDE]
    assert meta.status == "active" and library.index.store.doc_states()[FILE_GUIDE][1] != CONSOLE_SOURCE
    assert library.store.events(FILE_GUIDE)[0].action == "release"


def test_a_guide_without_its_item_name_cannot_be_published(env):
    library, _, _ = env
    text = DOG.format(days=5).replace("item_name: 犬只登记\n", "").replace("- 事项名称：犬只登记\n", "")
    draft = library.upload("dog.md", text.encode(), ADMIN).versions[0]
    assert any("事项名称" in p.zh for p in draft.blocking)
    with pytest.raises(Refused, match="事项名称"):
        library.publish(draft.doc_id, draft.version, ADMIN)
    assert draft.doc_id not in library.index.documents()


def test_a_refused_upload_changes_nothing(env):
    library, _, _ = env
    before = dict(library.index.store.doc_states())
    with pytest.raises(Refused) as refused:
        library.upload("broken.md", b"---\ndoc_id: [unclosed\n---\n# x\n", ADMIN)
    assert refused.value.zh
    assert library.store.entries() == {} and library.index.store.doc_states() == before


def test_the_list_filters_documents_from_files_and_the_console(env):
    library, _, _ = env
    upload_dog(library)
    rows = library.rows()
    draft = [r for r in rows if r.doc_id == "gz-dog-licence"]
    assert draft and draft[0].status == "draft" and draft[0].origin == "console"
    from zhengwu.library import Filters

    assert {r.doc_id for r in library.rows(Filters(status="draft"))} == {"gz-dog-licence"}
    assert all(r.doc_type == "law" for r in library.rows(Filters(doc_type="law")))
    assert {r.title for r in library.rows(Filters(search="弩的运输"))} == {"弩的运输审批"}
    assert all(r.origin == "file" for r in library.rows(Filters(origin="file")))


def test_a_draft_may_take_the_item_code_as_its_id_until_published(env):
    library, _, _ = env
    draft = upload_dog(library)
    from dataclasses import replace

    moved = library.edit("gz-dog-licence", replace(draft.document, doc_id="4401-dog"), ADMIN)
    assert moved.doc_id == "4401-dog" and moved.version == 1 and library.store.entry("gz-dog-licence") is None
    library.publish("4401-dog", 1, ADMIN)
    settle(library)
    with pytest.raises(Refused):
        library.edit("4401-dog", replace(moved.document, doc_id="other"), ADMIN)


def test_a_curated_answer_resting_on_a_withdrawn_document_is_no_longer_given(env):
    from zhengwu.review import ReviewStore, Source

    library, settings, people = env
    upload_dog(library)
    library.publish("gz-dog-licence", 1, ADMIN)
    settle(library)
    ReviewStore.of(people).publish("犬只登记要多久？", "犬只登记5个工作日办结。", [Source("gz-dog-licence", "犬只登记")],
                                   ADMIN)
    assistant = make_assistant(settings, library.index, people=people)
    assert assistant.ask("犬只登记要多久？").path.startswith("curated")
    library.withdraw("gz-dog-licence", "withdrawn", date.today(), ADMIN)
    settle(library)
    assert not assistant.ask("犬只登记要多久？").path.startswith("curated")


def test_citizens_are_answered_throughout_a_background_publish(env):
    """No downtime: while the publisher indexes a large upload, every question is answered from a consistent
    index (the old one until the new one is in place)."""
    import json
    import threading

    library, settings, _ = env
    records = [json.dumps({"id": f"faq-{i}", "title": f"问答 {i}", "text": f"第{i}条：居住证办理需要携带身份证和居住证明。"
                           * 20, "metadata": {"department": "公安局"}}, ensure_ascii=False) for i in range(60)]
    outcome = library.upload("faq.jsonl", "\n".join(records).encode(), ADMIN)
    assert len(outcome.versions) == 60
    for version in outcome.versions:
        library.store.set_published(version.doc_id, version.version, ADMIN, action="publish")
    assistant = make_assistant(settings, library.index)
    failures: list[BaseException] = []
    answers: list[str] = []
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            try:
                answers.append(assistant.ask("弩的运输审批要什么材料", user={"region": "广州市"}).status)
            except BaseException as exc:  # noqa: BLE001 - any failure is the test's failure
                failures.append(exc)
                return

    asker = threading.Thread(target=keep_asking)
    asker.start()
    job = library.sync()
    settle(library)
    stop.set()
    asker.join(30)
    assert failures == [] and len(answers) >= 2 and set(answers) == {"answered"}
    assert library.store.job(job.id).report["added"] == 60 and len(library.index.documents()) >= 68
