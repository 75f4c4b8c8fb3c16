"""The query adapter: fitting with in-batch negatives on synthetic pairs, out-of-fold reporting, and its use by
an index (question vectors only, same collection)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers.models import HashEmbedder

from zhengwu.index.adapter import AdaptedEmbedder, AdapterMismatch, QueryAdapter
from zhengwu.quality.adapter_fit import cross_validate_adapter, dense_ranks, fit_adapter


def _pairs(n_docs: int = 120, dim: int = 32, seed: int = 0):
    """Answers are random unit vectors; questions are the answers seen through a fixed distortion plus noise,
    so frozen question vectors find their answer only sometimes and a linear map can undo the distortion."""
    rng = np.random.default_rng(seed)
    answers = rng.standard_normal((n_docs, dim)).astype(np.float32)
    answers /= np.linalg.norm(answers, axis=1, keepdims=True)
    distortion = np.eye(dim) + 2.5 * rng.standard_normal((dim, dim)) / np.sqrt(dim)
    questions = answers @ distortion.T + 0.3 * rng.standard_normal((n_docs, dim))
    questions = (questions / np.linalg.norm(questions, axis=1, keepdims=True)).astype(np.float32)
    return questions, answers, [f"doc{i}" for i in range(n_docs)], [{f"doc{i}"} for i in range(n_docs)]


def test_the_adapter_finds_answers_the_frozen_vectors_miss():
    questions, answers, docs, gold = _pairs()
    plain = dense_ranks(questions, answers, docs, gold)
    matrix = fit_adapter(questions, answers, epochs=60, lr=2e-3)
    adapted = dense_ranks(questions, answers, docs, gold, matrix)
    assert sum(r == 1 for r in adapted) > sum(r == 1 for r in plain) + 10


def test_out_of_fold_report_and_the_win_rule():
    questions, answers, docs, gold = _pairs(seed=1)
    report = cross_validate_adapter(questions, answers, docs, gold, folds=4, epochs=60, lr=2e-3)
    assert report.plain["n"] == report.adapted["n"] == 120
    assert report.wins and report.adapted["mrr@10"] > report.plain["mrr@10"]
    assert "out of fold" in report.table()


def test_save_load_and_mismatch(tmp_path: Path):
    inner = HashEmbedder(dim=16)
    adapter = QueryAdapter(np.eye(16) * 2.0, inner.name, {"pairs": 3})
    adapter.save(tmp_path / "a.npz")
    loaded = QueryAdapter.load(tmp_path / "a.npz")
    assert loaded.meta == {"pairs": 3} and np.allclose(loaded.matrix, adapter.matrix)
    wrapped = AdaptedEmbedder(inner, loaded)
    assert wrapped.name == inner.name  # passages, cache and collection are shared
    assert np.allclose(wrapped.embed_query("问题"), inner.embed_query("问题"), atol=1e-6)  # 2·I then normalised
    assert np.allclose(wrapped.embed_passages(["答案"]), inner.embed_passages(["答案"]))
    with pytest.raises(AdapterMismatch, match="fitted for"):
        AdaptedEmbedder(HashEmbedder(name="other/model", dim=16), loaded)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(AdapterMismatch, match="cannot read"):
        QueryAdapter.load(tmp_path / "bad.npz")


def test_cli_fits_and_refuses_to_write_an_adapter_that_does_not_win(tmp_path: Path, monkeypatch):
    from zhengwu.cli.main import main

    kb = tmp_path / "kb.jsonl"
    questions = tmp_path / "q.jsonl"
    topics = ["居住证", "社保卡", "驾驶证", "护照", "营业执照", "公积金", "医保", "户口", "结婚登记", "出生证明",
              "养老金", "失业金", "契税", "个税", "残疾证", "低保", "居民身份证", "港澳通行证", "不动产登记", "入学"]
    with kb.open("w", encoding="utf-8") as out:
        for i, topic in enumerate(topics):
            out.write(json.dumps({"id": f"kb{i}", "title": "", "text": f"办理{topic}需要本人携带有效证件到窗口申请。"},
                                 ensure_ascii=False) + "\n")
    with questions.open("w", encoding="utf-8") as out:
        for i, topic in enumerate(topics):
            out.write(json.dumps({"id": f"q{i}", "question": f"{topic}怎么办？", "answerable": True,
                                  "gold_doc_ids": [f"kb{i}"]}, ensure_ascii=False) + "\n")
    monkeypatch.setenv("ZHENGWU_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(main, ["eval", "fit-adapter", str(questions), "--kb", str(kb),
                                       "--out", str(tmp_path / "adapter.npz"), "--folds", "4", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "frozen question vectors" in result.output and "with the adapter (out of fold)" in result.output
    written = (tmp_path / "adapter.npz").exists()
    assert written == ("adapter written" in result.output)
    assert written or "nothing written" in result.output


def test_a_gain_within_noise_is_not_a_win():
    from zhengwu.quality.adapter_fit import AdapterReport

    plain = {"n": 1048, "hit@1": 0.644, "hit@5": 0.880, "mrr@10": 0.7446}
    assert not AdapterReport(5, plain, {**plain, "mrr@10": 0.7463}).wins  # +0.002: noise
    assert not AdapterReport(5, plain, {**plain, "hit@5": 0.870, "mrr@10": 0.80}).wins  # loses hit@5
    assert AdapterReport(5, plain, {**plain, "hit@5": 0.90, "mrr@10": 0.78}).wins
