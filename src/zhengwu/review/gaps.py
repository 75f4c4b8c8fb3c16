"""Knowledge gaps: what citizens asked that the knowledge base could not answer, grouped by topic.

The input is every question refused for lack of evidence or region, and every answer rated 👎
(``ReviewStore.gap_turns``). Each question is filed under one word, chosen by a rule staff can check by eye:

* its topic words are its jieba content terms without field words (材料, 电话 …) and place names, and without
  words common in the knowledge base (in more than ``COMMON_SHARE`` of its chunks: 办理, 申请 …), which say
  nothing about what is missing;
* of those, the word that most of the other failed questions also use wins; among equals, the one rarest in the
  knowledge base (an unknown word first), then the longer one.

So "失能老人补贴去哪申请" and "老人护理补贴怎么领" both go under 老人 and count together. Topics are listed
most frequent first; the CSV export (UTF-8 with BOM, for Excel) has the same rows.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from zhengwu.review.curated import topic_terms
from zhengwu.review.records import CHINA_TIME, GapTurn

COMMON_SHARE = 0.05
MAX_EXAMPLES = 5
OTHER = "（未归类）"


@dataclass
class Gap:
    topic: str
    count: int = 0
    refused: int = 0
    thumbs_down: int = 0
    last_at: datetime | None = None
    examples: list[GapTurn] = field(default_factory=list)  # distinct questions, newest first


def _common(index) -> Callable[[str], bool]:
    sparse = index.sparse
    chunks = max(len(sparse.chunk_ids), 1)
    return lambda term: sparse.df.get(term, 0) / chunks > COMMON_SHARE


def knowledge_gaps(turns: list[GapTurn], index) -> list[Gap]:
    """Group the failed questions by topic word; most frequent topic first."""
    analyzer, idf, common = index.analyzer, index.sparse.idf, _common(index)
    terms_of: dict[int, list[str]] = {}
    for turn in turns:
        terms = topic_terms(analyzer, turn.question) or frozenset(analyzer.content_terms(turn.question))
        specific = [t for t in terms if not common(t)]
        terms_of[turn.turn_id] = specific or sorted(terms)
    shared = Counter(t for terms in terms_of.values() for t in set(terms))
    gaps: dict[str, Gap] = {}
    for turn in turns:  # newest first, as gap_turns returns them
        terms = terms_of[turn.turn_id]
        topic = max(terms, key=lambda t: (shared[t], idf(t), len(t), t)) if terms else OTHER
        gap = gaps.setdefault(topic, Gap(topic))
        gap.count += 1
        gap.refused += turn.status == "refused"
        gap.thumbs_down += turn.thumbs_down
        if gap.last_at is None or turn.created_at > gap.last_at:
            gap.last_at = turn.created_at
        if len(gap.examples) < MAX_EXAMPLES and all(e.question != turn.question for e in gap.examples):
            gap.examples.append(turn)
    return sorted(gaps.values(), key=lambda g: (-g.count, -(g.last_at.timestamp() if g.last_at else 0), g.topic))


def gaps_csv(gaps: list[Gap]) -> str:
    """The gaps as CSV text starting with a UTF-8 byte order mark, so that Excel reads the Chinese correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["主题", "次数", "拒答", "差评", "最近一次（北京时间）", "示例问题"])
    for gap in gaps:
        last = gap.last_at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M") if gap.last_at else ""
        writer.writerow([gap.topic, gap.count, gap.refused, gap.thumbs_down, last,
                         " | ".join(e.question for e in gap.examples)])
    return out.getvalue()
