"""Does the answer about to be given really answer the question? The last check before an answer leaves.

An answer is only as good as the passages it quotes. The check reads the question's focus — what is asked (a
duration, an amount, an age, a place, a phone, materials, a penalty …) and about what (its key words, a
citizen's colloquial words counted through their official terms) — and the passages the answer cites, and turns
what it finds into a few features: how much of the question's weight the cited text covers, whether its rarest
word is there, whether a value of the asked kind is there, how sure retrieval was (its fused score and margin,
the best cosine), whether a guide answer had to say the field is missing, and a few words that mark questions
no document answers (real-time figures, someone's own records, advice).

A logistic model (``AnswerabilityModel``) weighs them into the probability that the answer is right; below its
threshold the assistant refuses instead. Weights and threshold are fitted with cross-validation on the
development sets (``evaluation/fit_answerability.py``); ``docs/answerability.md`` shows the out-of-fold
precision/recall curve and why the threshold sits where it does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from zhengwu.answering.answer import Answer
from zhengwu.chinese import normalize
from zhengwu.index import Index
from zhengwu.retrieval.query import Analysis, answer_type, without_field_words
from zhengwu.retrieval.retriever import DocHit

FEATURES: tuple[str, ...] = (
    "coverage", "coverage_doc", "rarest_found", "found_terms", "question_terms", "title", "dense_raw",
    "card_raw", "sparse_rr", "dense_rr", "legs_agree", "chunk_gap", "doc_size", "cited_cosine", "cited_dense_best",
    "score", "margin", "value_asked", "value_found", "field_missing", "guide", "law", "legal_guide", "realtime", "own_record", "advice", "long_question", "citations", "rank",
)

# Words that mark a question no document answers, whatever it is about: today's figures, the asker's own
# records, a recommendation. Weighed by the model, not refused by rule: "如何查询我的社保缴费记录？" is a
# procedure question a guide may answer.
REALTIME = re.compile(r"今天|今日|明天|现在|目前|当前|实时|排队|人多不多|还有没有号|最新|今年|本月|这周|[12]\d{3}年")
OWN_RECORD = re.compile(r"我的|我家的|我账户|我这个|帮我查|帮忙查|给我查|查一下我|我还剩|我交了|我能拿|我能领|我能贷")
ADVICE = re.compile(r"推荐|哪个好|哪家好|哪所好|值不值|值得吗|该不该|要不要|划算|靠谱|能涨|赚钱|怎么选|选哪")

EVIDENCE_CHUNKS = 3


@dataclass(frozen=True)
class AnswerabilityModel:
    """Logistic weights over ``FEATURES`` and the probability below which the assistant refuses."""

    weights: dict[str, float]
    bias: float
    threshold: float
    mean: dict[str, float]  # features are standardised with the training mean and scale
    scale: dict[str, float]

    def _term(self, name: str, features: dict[str, float]) -> float:
        """One feature's share of the logit, standardised as in training."""
        spread = self.scale.get(name, 1.0) or 1.0
        return self.weights[name] * (features.get(name, 0.0) - self.mean.get(name, 0.0)) / spread

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(self._term(name, features) for name in self.weights)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def answerable(self, features: dict[str, float]) -> bool:
        return self.probability(features) >= self.threshold

    def contributions(self, features: dict[str, float]) -> dict[str, float]:
        """Each feature's share of the logit: what staff read when they ask why a question was refused."""
        return {name: round(self._term(name, features), 3) for name in self.weights}

    def to_json(self) -> dict:
        return {"features": list(self.weights), "weights": self.weights, "bias": self.bias,
                "threshold": self.threshold, "mean": self.mean, "scale": self.scale}

    def save(self, path: Path, **provenance) -> None:
        path.write_text(json.dumps({**self.to_json(), **provenance}, ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")

    @classmethod
    def from_json(cls, data: dict) -> AnswerabilityModel:
        return cls(weights={k: float(v) for k, v in data["weights"].items()}, bias=float(data["bias"]),
                   threshold=float(data["threshold"]), mean={k: float(v) for k, v in data["mean"].items()},
                   scale={k: float(v) for k, v in data["scale"].items()})

    @classmethod
    def load(cls, path: Path | None = None) -> AnswerabilityModel:
        """The fitted model at ``path``; by default the one shipped in ``zhengwu/resources``."""
        text = (path.read_text(encoding="utf-8") if path is not None
                else (resources.files("zhengwu") / "resources" / "answerability.json").read_text(encoding="utf-8"))
        return cls.from_json(json.loads(text))


def answer_features(index: Index, analysis: Analysis, hits: Sequence[DocHit], answer: Answer,
                    rank: int = 0) -> dict[str, float]:
    """The features of one candidate answer, composed from ``hits[0]`` — retrieval's document of rank ``rank``
    (see the module docstring)."""
    analyzer = index.analyzer
    idf = index.sparse.idf
    places = {normalize(p) for p in analysis.regions}
    terms = {t for t in analyzer.content_terms(without_field_words(analysis.text)) if not any(t in p for p in places)}
    top = hits[0]
    cited_docs = {c.doc_id for c in answer.citations}
    cited = normalize(" ".join([c.snippet for c in answer.citations]
                               + [c.title for c in answer.citations] + [top.doc.title]))
    best = index.store.get_chunks([cid for cid, _ in top.chunks[:EVIDENCE_CHUNKS]])
    doc_evidence = normalize(" ".join([top.doc.title, *(c.text for c in best.values())]))

    def found_in(term: str, text: str) -> bool:
        if term in text:
            return True
        return any(o in text for o in analyzer.official_terms(term))

    weights = {t: idf(t) for t in terms}
    total = sum(weights.values()) or 1.0
    found = [t for t in terms if found_in(t, cited)]
    rarest = max(terms, key=lambda t: weights[t]) if terms else None
    # The cosine of the question and the passages cited from the top document (0 when the dense leg did not
    # find them among its candidates), and whether one of them is the document's closest passage.
    sections = {c.section for c in answer.citations if c.doc_id == top.doc.doc_id}
    cited_ids = [cid for cid, chunk in index.store.get_chunks(list(top.cosines)).items() if chunk.section in sections]
    cited_cosine = max((top.cosines[cid] for cid in cited_ids), default=0.0)
    closest = max(top.cosines, key=lambda cid: top.cosines[cid]) if top.cosines else None
    wanted = answer_type(analysis.text)
    guide, law = top.doc.doc_type == "service_guide", top.doc.doc_type == "law"
    second = hits[1].score if len(hits) > 1 else top.score - 1.0
    return {
        "coverage": sum(weights[t] for t in found) / total if terms else 0.0,
        "coverage_doc": sum(weights[t] for t in terms if found_in(t, doc_evidence)) / total if terms else 0.0,
        "rarest_found": 1.0 if rarest is not None and rarest in found else 0.0,
        "found_terms": min(len(found), 6) / 6,
        "question_terms": min(len(terms), 10) / 10,
        "title": top.title,
        "dense_raw": top.features.get("dense_raw", 0.0),
        "card_raw": top.features.get("card_raw", 0.0),
        "sparse_rr": top.features.get("sparse_rr", 0.0),
        "dense_rr": top.features.get("dense_rr", 0.0),
        # BM25 and the dense model both put this document first: retrieval is surer than either alone.
        "legs_agree": float(top.features.get("sparse_rr", 0.0) >= 1.0 and top.features.get("dense_rr", 0.0) >= 1.0),
        # How clearly one passage of the document stands out, and how many it has to choose from: the right law
        # with the wrong one of its 300 articles is a wrong answer.
        "chunk_gap": top.chunks[0][1] - top.chunks[1][1] if len(top.chunks) > 1 else 1.0,
        "doc_size": math.log1p(len(index.store.chunk_ids([top.doc.doc_id]))) / math.log(1000),
        "cited_cosine": cited_cosine,
        "cited_dense_best": 1.0 if closest is not None and closest in cited_ids else 0.0,
        "score": top.score,
        "margin": top.score - second,
        "value_asked": 1.0 if wanted else 0.0,
        "value_found": 1.0 if wanted and wanted[1].search(cited) else 0.0,
        "field_missing": 1.0 if "未列出" in answer.text else 0.0,
        "guide": float(guide),
        "law": float(law),
        "legal_guide": float(guide and top.features.get("guide_legal", 0.0) > 0),
        "realtime": 1.0 if REALTIME.search(analysis.text) else 0.0,
        "own_record": 1.0 if OWN_RECORD.search(analysis.text) else 0.0,
        "advice": 1.0 if ADVICE.search(analysis.text) else 0.0,
        "long_question": min(len(analysis.text), 120) / 120,
        "citations": min(len(cited_docs), 3) / 3,
        "rank": float(rank),
    }
