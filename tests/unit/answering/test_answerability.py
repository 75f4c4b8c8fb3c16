"""The last check on an answer: features read from what the answer cites, the shipped model, the threshold."""

import json
import math
from dataclasses import replace

import pytest
from helpers import make_assistant

from zhengwu.answering.answerability import FEATURES, AnswerabilityModel, answer_features
from zhengwu.retrieval.query import analyse


def collected(assistant, question):
    seen = []
    assistant.on_answer_features = lambda features, answer: seen.append((features, answer))
    try:
        answer = assistant.ask(question)
    finally:
        assistant.on_answer_features = None
    return answer, seen


def test_the_shipped_model_covers_every_feature_and_has_a_threshold():
    model = AnswerabilityModel.load()
    assert set(model.weights) == set(FEATURES) and 0.0 < model.threshold < 1.0
    assert all(model.scale[f] > 0 for f in FEATURES)


def test_features_read_the_cited_passage(fixture_index, assistant):
    answer, seen = collected(assistant, "居民身份证的有效期是多久？")
    assert answer.status == "answered" and "十年" in answer.text
    features, first = seen[0]
    assert set(features) == set(FEATURES)
    assert features["value_asked"] == 1.0 and features["value_found"] == 1.0  # 十年 is a duration
    assert features["coverage"] > 0.5 and features["rank"] == 0.0
    # The same features computed for a passage that does not hold the words of the question cover less.
    hits = assistant.retriever.retrieve("居民身份证的有效期是多久？", k=3)
    other = answer_features(fixture_index, analyse("实验动物的有效期是多久？"), hits, first)
    assert other["coverage"] < features["coverage"]


def test_an_answer_the_sources_do_not_hold_is_refused_by_the_model(assistant):
    answer, seen = collected(assistant, "量子计算机的纠错码原理是什么？")
    assert answer.status == "refused" and answer.reason == "weak_evidence"
    model = assistant.answerability
    assert seen and all(model.probability(f) < model.threshold for f, _ in seen)


def test_up_to_three_candidate_answers_are_weighed_and_the_most_probable_is_given(assistant):
    answer, seen = collected(assistant, "居民身份证丢了怎么补办")
    assert 1 < len(seen) <= 3 and [f["rank"] for f, _ in seen] == [float(i) for i in range(len(seen))]
    probabilities = [assistant.answerability.probability(f) for f, _ in seen]
    best = seen[probabilities.index(max(probabilities))][1]
    assert answer.text == best.text


def test_a_guide_named_outright_and_asked_for_a_field_answers_from_that_field_unweighed(assistant):
    answer, seen = collected(assistant, "实验动物生产许可的咨询电话是多少？")
    assert answer.status == "answered" and seen == []
    # Named, but asked nothing a field answers: weighed, once (no other document competes with a named item).
    answer, seen = collected(assistant, "实验动物生产许可")
    assert len(seen) == 1


@pytest.mark.parametrize("threshold, status", [(1.0, "refused"), (0.0, "answered")])
def test_the_threshold_setting_moves_the_trade_off(fixture_settings, fixture_index, threshold, status):
    settings = fixture_settings.model_copy(update={"answerability_threshold": threshold})
    assistant = make_assistant(settings, fixture_index)
    assert assistant.answerability.threshold == threshold
    assert assistant.ask("停车场乱收费怎么办").status == status


def test_the_coverage_rule_stands_in_when_the_model_is_off(fixture_settings, fixture_index):
    settings = fixture_settings.model_copy(update={"answerability": "coverage"})
    assistant = make_assistant(settings, fixture_index)
    assert assistant.answerability is None and assistant.coverage_rule
    assert assistant.ask("量子计算机的纠错码原理是什么？").status == "refused"
    assert assistant.ask("居民身份证的有效期是多久？").status == "answered"


def test_a_model_file_round_trips(tmp_path):
    model = AnswerabilityModel.load()
    path = tmp_path / "model.json"
    replace(model, threshold=0.3).save(path, folds=5)
    loaded = AnswerabilityModel.load(path)
    assert loaded.threshold == 0.3 and loaded.weights == model.weights
    assert json.loads(path.read_text())["folds"] == 5
    features = dict.fromkeys(FEATURES, 0.5)
    assert sum(loaded.contributions(features).values()) + loaded.bias == pytest.approx(
        math.log(loaded.probability(features) / (1 - loaded.probability(features))), abs=1e-2)
