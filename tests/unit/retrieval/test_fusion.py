"""The fusion formula (``zhengwu.retrieval.fusion``) on numbers chosen by hand, and the learned fusion."""

from __future__ import annotations

import pytest

from zhengwu.retrieval.features import FusionWeights, fused_score, min_max
from zhengwu.retrieval.fusion import title_match

WEIGHTS = FusionWeights(dense=0.6, card=0.2, title=0.6, region_bonus=0.2)


def test_a_vector_of_the_text_itself_counts_at_the_dense_weight():
    score = fused_score(WEIGHTS, dense=1.0, card=0.0, sparse=0.5, title=0.0, preferred_region=False)
    assert score == pytest.approx(0.6 * 1.0 + 0.4 * 0.5)


def test_a_card_alone_counts_at_the_card_weight():
    """A summary card is weaker evidence: the same cosine moves the score far less than a text vector."""
    card = fused_score(WEIGHTS, dense=None, card=1.0, sparse=0.5, title=0.0, preferred_region=False)
    text = fused_score(WEIGHTS, dense=1.0, card=0.0, sparse=0.5, title=0.0, preferred_region=False)
    assert card == pytest.approx(0.2 * 1.0 + 0.8 * 0.5)
    assert card < text


def test_with_a_text_vector_the_card_is_ignored():
    with_card = fused_score(WEIGHTS, dense=0.3, card=1.0, sparse=0.0, title=0.0, preferred_region=False)
    assert with_card == pytest.approx(0.6 * 0.3)


def test_naming_the_title_and_the_askers_region_add_their_weights():
    base = fused_score(WEIGHTS, dense=0.5, card=0.0, sparse=0.5, title=0.0, preferred_region=False)
    named = fused_score(WEIGHTS, dense=0.5, card=0.0, sparse=0.5, title=1.0, preferred_region=False)
    local = fused_score(WEIGHTS, dense=0.5, card=0.0, sparse=0.5, title=0.0, preferred_region=True)
    assert named - base == pytest.approx(0.6) and local - base == pytest.approx(0.2)


def test_a_named_title_outranks_a_better_bm25_match():
    """The item a question names outright beats a document that shares more words with it — unless that one is
    close to the best on both legs."""
    named = fused_score(WEIGHTS, dense=None, card=0.2, sparse=0.3, title=1.0, preferred_region=False)
    wordy = fused_score(WEIGHTS, dense=0.5, card=0.0, sparse=0.8, title=0.0, preferred_region=False)
    best_on_both = fused_score(WEIGHTS, dense=0.9, card=0.0, sparse=1.0, title=0.0, preferred_region=False)
    assert wordy < named < best_on_both


def test_min_max_rescales_only_the_candidates_that_have_a_cosine():
    assert min_max([0.8, 0.0, 0.6, 0.7]) == pytest.approx([1.0, 0.0, 0.0, 0.5])
    assert min_max([0.0, 0.0]) == [0.0, 0.0]
    assert min_max([0.5]) == [0.0]  # one candidate: no spread to rescale, and no division by zero


def test_title_match():
    assert title_match("弩的运输审批的电话", "弩的运输审批") == 1.0
    assert title_match("身份证", "中华人民共和国居民身份证法") == 0.0  # a word in common is not naming it
    assert 0.4 < title_match("实验动物生产许可新申请", "实验动物生产许可(新申请)") < 1.0
    assert title_match("居住证在哪办", "", "居住证") == 1.0  # the 事项名称 counts like the title


def _features(**values: float) -> dict[str, float]:
    from zhengwu.retrieval.features import FEATURES

    return {f: values.get(f, 0.0) for f in FEATURES}


def test_linear_fusion_is_the_weighted_sum_and_explains_itself():
    from zhengwu.retrieval.fusion import LinearFusion

    fusion = LinearFusion({"sparse": 1.0, "dense": 2.0, "title": 0.5})
    features = _features(sparse=0.5, dense=0.25, title=1.0, law=1.0)
    assert fusion.score(features) == pytest.approx(0.5 + 0.5 + 0.5)
    assert list(fusion.contributions(features)) == ["sparse", "dense", "title"]  # law has no weight: absent


def test_linear_fusion_round_trips_and_refuses_unknown_features(tmp_path):
    from zhengwu.retrieval.fusion import LinearFusion

    path = tmp_path / "fusion.json"
    LinearFusion({"sparse": 1.5, "law_legal": -0.25}, {"folds": 5}).save(path)
    loaded = LinearFusion.load(path)
    assert loaded.weights == {"sparse": 1.5, "law_legal": -0.25} and loaded.meta == {"folds": 5}
    path.write_text('{"weights": {"sparse": 1.0, "mystery": 2.0}}', encoding="utf-8")
    with pytest.raises(ValueError, match="mystery"):
        LinearFusion.load(path)


def test_an_unusable_model_falls_back_to_the_hand_fusion(tmp_path, caplog):
    from zhengwu.retrieval.fusion import HandFusion, LinearFusion, fusion_for

    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert isinstance(fusion_for("learned", broken, 0.65), HandFusion)
    assert "falling back" in caplog.text
    assert isinstance(fusion_for("hand", None, 0.65), HandFusion)
    assert isinstance(fusion_for("learned", None, 0.65), LinearFusion)  # the bundled model


def test_hand_fusion_reads_the_same_features_as_the_formula():
    from zhengwu.retrieval.fusion import HandFusion

    features = _features(sparse=0.5, dense=1.0, dense_raw=0.4, card=0.2, title=1.0, region=1.0)
    expected = fused_score(FusionWeights(), dense=1.0, card=0.2, sparse=0.5, title=1.0, preferred_region=True)
    assert HandFusion().score(features) == pytest.approx(expected)


def test_features_are_rescaled_among_candidates_and_typed_by_intent():
    from zhengwu.retrieval.features import Signals, features_of

    law = Signals("law", sparse=10.0, dense=0.90)
    guide = Signals("service_guide", sparse=5.0, dense=0.85, lacks_field=True)
    policy = Signals("policy", sparse=0.0, expansion=3.0)
    f_law, f_guide, f_policy = features_of([law, guide, policy], "legal")
    assert (f_law["sparse"], f_guide["sparse"], f_policy["sparse"]) == (1.0, 0.5, 0.0)
    assert f_law["dense"] == 1.0 and f_guide["dense"] == 0.0 and f_law["dense_rr"] == 1.0 and f_guide["dense_rr"] == 0.5
    assert f_policy["expansion"] == 1.0 and f_policy["both"] == 0.0 and f_law["both"] == 1.0
    assert f_law["law_legal"] == 1.0 and f_guide["guide_legal"] == 1.0 and f_guide["guide_procedure"] == 0.0
    assert f_guide["guide_lacks_field"] == 1.0
    procedure = features_of([law, guide], "mixed")
    assert procedure[0]["law_procedure"] == 1.0 and procedure[0]["law_legal"] == 1.0


def test_chunk_order_lets_an_article_found_by_meaning_alone_be_quoted():
    from zhengwu.retrieval.retriever import chunk_order

    sparse = {"law#第一条": 8.0, "law#第二条": 4.0}
    dense = {"law#第九十一条": 0.90, "law#第一条": 0.80}
    order = chunk_order(sparse, dense)
    # 第一条: best BM25, cosine more than the span below the best → 0.5; 第九十一条: no word in common but the
    # best cosine → 0.5, ahead of 第二条 (half the BM25, no vector) at 0.25.
    assert order == [("law#第一条", pytest.approx(0.5)), ("law#第九十一条", pytest.approx(0.5)),
                     ("law#第二条", pytest.approx(0.25))]
    # One leg alone: its own order.
    assert [c for c, _ in chunk_order({}, dense)] == ["law#第九十一条", "law#第一条"]
    assert [c for c, _ in chunk_order(sparse, {})] == ["law#第一条", "law#第二条"]
