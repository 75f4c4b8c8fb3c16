"""The dense leg against a real Chroma server (``chroma run`` from the venv), on 127.0.0.1 only.

The server is started as a subprocess on a free port with its own persistence folder, and always terminated in
the fixture's teardown.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers import FIXTURE_CORPUS, build_index, make_assistant, make_settings
from helpers.chroma import CHROMA_BIN, ChromaServer, _free_port

from zhengwu.config import Settings
from zhengwu.index.dense import DenseIndexError
from zhengwu.index.index import Index

PHONE_QUESTION = "弩的运输审批的咨询电话是多少？"
GUIDE_IDS = {"11440000006940140C2440106013004", "11440100007483172Q3440106013004"}






@pytest.fixture
def chroma_server(tmp_path: Path):
    if not CHROMA_BIN.exists():
        pytest.fail(f"{CHROMA_BIN} not found: chromadb is a hard dependency and ships the `chroma` binary")
    server = ChromaServer(tmp_path / "chroma-server-data", tmp_path / "chroma-server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _http_client(server: ChromaServer):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.HttpClient(
        host="127.0.0.1", port=server.port, settings=ChromaSettings(anonymized_telemetry=False)
    )


def _check_phone_answer(settings: Settings, index: Index) -> None:
    answer = make_assistant(settings, index).ask(PHONE_QUESTION)
    assert answer.status == "answered", answer
    assert "020-83110470" in answer.text and "020-12345" in answer.text, answer.text  # 广东省 and 广州市 items
    assert answer.citations, "an answer must cite its sources"
    assert {c.doc_id for c in answer.citations} <= GUIDE_IDS
    assert all(c.title == "弩的运输审批" and c.section == "咨询电话" for c in answer.citations)
    for c in answer.citations:
        assert f"[{c.n}]" in answer.text


def test_index_lives_in_the_server_and_survives_a_restart(chroma_server: ChromaServer, tmp_path: Path) -> None:
    data = tmp_path / "zhengwu-data"
    settings = make_settings(data, chroma_url=chroma_server.url)
    index = build_index(settings)
    try:
        _check_phone_answer(settings, index)
        name, count = index.dense.name, index.dense.count()
        expected_ids = {cid for cid, _ in index.store.embedded_chunks()}
    finally:
        index.close()
    assert count > 0 and count == len(expected_ids)

    # The vectors are in the server ...
    client = _http_client(chroma_server)
    collections = {c.name: c for c in client.list_collections()}
    assert name in collections, f"collection {name} not on the server: {sorted(collections)}"
    remote = client.get_collection(name)
    assert remote.count() == count
    assert set(remote.get(include=[])["ids"]) == expected_ids
    # ... and not in an embedded Chroma under the data dir.
    assert not settings.chroma_dir.exists(), f"a local Chroma folder was created at {settings.chroma_dir}"
    assert not list(data.rglob("chroma.sqlite3"))
    assert (chroma_server.path / "chroma.sqlite3").exists() or any(chroma_server.path.iterdir())

    # Restart the server process on the same path and port: the vectors persist.
    chroma_server.stop()
    with pytest.raises(DenseIndexError, match="cannot reach"):
        Index(settings)  # server down: a clear error, not a hang or an empty index
    chroma_server.start()

    index = Index(settings)
    try:
        assert index.dense.count() == count
        assert index.dense.ids() == expected_ids
        _check_phone_answer(settings, index)
        # Nothing changed on disk: a re-ingest against the restarted server embeds and writes nothing.
        from zhengwu.documents.loaders import load_paths

        loaded = load_paths([FIXTURE_CORPUS], root=FIXTURE_CORPUS)
        report = index.ingest(loaded.documents, str(FIXTURE_CORPUS.resolve()), errors=loaded.errors)
        assert (report.added, report.updated, report.removed) == (0, 0, 0)
        assert report.unchanged == len(loaded.documents)
        assert report.vectors_embedded == 0
        assert index.dense.count() == count
    finally:
        index.close()


def test_dense_query_through_the_server_finds_the_item(chroma_server: ChromaServer, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", chroma_url=chroma_server.url)
    index = build_index(settings)
    try:
        vector = index.embedder.embed_query("弩的运输审批咨询电话")
        hits = index.dense.query(vector, k=3)
        assert hits, "the server returned no neighbours"
        assert all(-1.0 <= score <= 1.0 + 1e-6 for _, score in hits)
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
        top_docs = {index.store.get_chunks([cid])[cid].doc_id for cid, _ in hits[:2]}
        assert top_docs & GUIDE_IDS
        # Metadata filters are applied by the server.
        national = index.dense.query(vector, k=5, where={"region": "全国"})
        docs = index.documents()
        for cid, _ in national:
            assert docs[index.store.get_chunks([cid])[cid].doc_id].region == "全国"
    finally:
        index.close()


@pytest.mark.parametrize("url", ["not-a-url", "127.0.0.1:8000", "ftp://127.0.0.1:8000", "http://:8000"])
def test_malformed_chroma_url_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> None:
    monkeypatch.setenv("ZHENGWU_CHROMA_URL", url)
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=FIXTURE_CORPUS)
    assert settings.chroma_url == url
    with pytest.raises(DenseIndexError) as info:
        Index(settings)
    message = str(info.value)
    assert "ZHENGWU_CHROMA_URL" in message
    assert repr(url) in message or url in message
    assert "http://host:port" in message
    assert not settings.chroma_dir.exists(), "a bad server URL must not fall back to a local Chroma"


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(DenseIndexError) as info:
        Index(make_settings(tmp_path / "data", chroma_url=url))
    assert url in str(info.value)
    assert time.monotonic() - started < 20


def test_eval_kb_does_not_touch_the_main_index_on_a_server(
    chroma_server: ChromaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from click.testing import CliRunner

    import zhengwu.config
    from zhengwu.cli.main import main

    data = tmp_path / "data"
    settings = make_settings(data, chroma_url=chroma_server.url)
    index = build_index(settings)
    expected_ids = index.dense.ids()
    name = index.dense.name
    index.close()
    assert expected_ids

    kb = tmp_path / "kb.jsonl"
    kb.write_text(
        json.dumps({"id": "kb-1", "title": "驾驶证换证", "text": "机动车驾驶证有效期满前九十日内可申请换证。",
                    "metadata": {}}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "k1", "question": "驾驶证到期怎么换？", "gold_doc_ids": ["kb-1"]}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    for var in [v for v in os.environ if v.startswith("ZHENGWU_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("ZHENGWU_DATA_DIR", str(data))
    monkeypatch.setenv("ZHENGWU_CORPUS_DIR", str(FIXTURE_CORPUS))
    monkeypatch.setenv("ZHENGWU_CHROMA_URL", chroma_server.url)
    zhengwu.config.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["eval", str(questions), "--kb", str(kb), "--quiet"], catch_exceptions=False)
    finally:
        zhengwu.config.get_settings.cache_clear()
    assert result.exit_code == 0, result.output

    remote = _http_client(chroma_server).get_collection(name)
    assert set(remote.get(include=[])["ids"]) == expected_ids, "the main index's vectors were replaced"
