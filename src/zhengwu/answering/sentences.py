"""Which sentence of a source answers the question: the composer leads with it, copied as it stands.

A question is reduced to its *topic terms* (``question_terms``): its words and their retrieval parts (结婚证 →
结婚), with the official words of colloquial ones, minus what only says which field, value or consequence is
asked (电话, 材料, 多久, 年龄, 处罚), minus places, and minus words every legal text uses (规定, 申请, 办理). A
sentence answers when it holds the kind of value asked (``retrieval.query.answer_type``), looks like the field
asked (``FIELD_CUES``) or states a consequence when one is asked, and covers most of the topic terms; one
chosen by shared words alone must stand out from the next. Sentences are cut by the project's one splitter
(``zhengwu.chinese.split_sentences``), line by line, with the "；" clauses of one sentence kept together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from zhengwu.chinese import FULL_STOPS, normalize, split_sentences
from zhengwu.index.analyzer import default_analyzer
from zhengwu.retrieval.query import ANSWER_TYPES, FIELD_PATTERNS, answer_type, find_regions

# What a passage that answers a field looks like (policies and FAQ answers have no guide fields): "去哪申请"
# wants the passage that names where one applies, not the one that shares most words with the question.
FIELD_CUES: dict[str, re.Pattern[str]] = {
    "location": re.compile(r"地点|地址|窗口|大厅|服务中心|办事处|向.{0,24}(提出|申请|提交|办理|投诉|举报|报案)|到.{0,24}办理"),
    "materials": re.compile(r"材料|复印件|原件|证明|申请表|证件|提交下列|出具下列"),
    "phone": re.compile(r"电话|热线|\d{3,4}-\d{7,8}|12345"),
    "time_limit": re.compile(r"工作日|日内|天内|时限|期限|之日起"),
    "fee": re.compile(r"收费|费用|免费|不收取|\d+元"),
    "process": re.compile(r"流程|步骤|程序|提出申请|审核|受理"),
    "conditions": re.compile(r"条件|符合|具备|年满|资格"),
    "online": re.compile(r"网上|在线|平台|网站|小程序|app|APP"),
}
# Which office handles an item, as a guide's own conditions name it ("婚姻登记机关为经办结婚的机关或…户口所在地的
# 机关") when its 办理地点 lists no window.
OFFICE_CUE = re.compile(r"机关|登记处|窗口|大厅|服务中心|办事处|派出所|所在地")
# A question about consequences, and the sentence of an article that states one.
PENALTY_ASKED = re.compile(r"处罚|罚款|罚多少|法律责任|什么责任|承担.{0,4}责任|吊销|拘留|后果|会怎么样|会怎样|扣分")
PENALTY_TEXT = re.compile(r"罚款|处罚|拘留|吊销|责令|追究|没收|赔偿|承担.{0,6}责任|记\d+分")
# Words every article or guide uses: sharing them does not make a source about the question.
_GENERIC_WORDS = (
    "规定 法律 法规 条例 办法 国家 有关 部门 人员 申请 办理 时间 进行 相应 依法 依照 单位 个人 公民 情形 要求 标准 "
    "一般 最长 最短 最多 最少 多大 多长 多长时间 几天 之内 以内 以上 以下 怎么 处理 属于 是不是 的话 请问"
)
GENERIC = frozenset(_GENERIC_WORDS.split())
# A word that only says what is asked (证件, 多久, 处罚), not what about. Online words (网站, 快递, app) are left
# in: they are what many questions are about.
_ASKING = re.compile("|".join([p.pattern for key, p in FIELD_PATTERNS if key != "online"]
                              + [a.pattern for _, a, _ in ANSWER_TYPES] + [PENALTY_ASKED.pattern]))
# "（一）…；" / "1." / "2、": an item of a list, which reads only after the sentence that introduces it.
_ITEM = re.compile(r"^\s*([（(][一二三四五六七八九十\d]+[)）]|\d+[.、．](?!\d))\s*")
_TRAILING = "；;，,、： "
_QUESTION_ENDS = ("？", "?")
MIN_LEAD_SOURCE = 80  # characters: a shorter source is its own answer, quoted without a lead
LEAD_MARGIN = 1.5  # a lead chosen by shared words alone covers this many times more of the question than the next


_CN_DIGITS = "零一二三四五六七八九"


def _chinese_number(n: int) -> str:
    """1–99 in Chinese numerals, as laws write them: 6 → 六, 12 → 十二, 20 → 二十, 22 → 二十二."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _CN_DIGITS[tens]) + "十" if tens else "") + (_CN_DIGITS[ones] if ones else "")


# Units of a stated number, by kind: "满6岁" is matched by "六周岁", not by "6月1日".
_UNITS = {"岁": "周岁|岁", "周岁": "周岁|岁", "日": "个?工作日|日|天", "天": "个?工作日|日|天", "工作日": "个?工作日|日|天",
          "月": "个?月", "年": "年", "分": "分", "元": "元|万元", "人": "人|名", "名": "人|名", "%": "%|％", "％": "%|％"}
_STATED = re.compile(r"(?<![\d.])(\d{1,2})\s*个?(周岁|岁|工作日|日|天|月|年|分|元|人|名|%|％)")


def stated_numbers(text: str) -> re.Pattern[str] | None:
    """A pattern for the numbers (1–99, with their unit) a question states, in either script — "满6岁" finds
    "年满六周岁" — or None."""
    found = {(int(n), unit) for n, unit in _STATED.findall(text) if 0 < int(n) < 100}
    if not found:
        return None
    alternatives = [
        rf"(?:(?<![\d.]){n}|(?<![一二三四五六七八九十]){_chinese_number(n)})\s*(?:{_UNITS[unit]})"
        for n, unit in sorted(found)
    ]
    return re.compile("|".join(alternatives))


@lru_cache(maxsize=1)
def _asking_terms() -> frozenset[str]:
    """Canonical forms of the words that only say what is asked (材料 → 申请材料)."""
    canonical = default_analyzer().canonical
    return frozenset(v for k, v in canonical.items() if _ASKING.fullmatch(k) or _ASKING.fullmatch(v))


def question_terms(question: str) -> frozenset[str]:
    """The topic terms of a question: what it is about, not which field, value or consequence it asks for, nor
    where (places are a matter of region, not of topic)."""
    analyzer = default_analyzer()
    text = normalize(question)
    places = [normalize(p) for p in find_regions(text)]
    official = " ".join(analyzer.official_terms(text))
    # Whole words and their parts (结婚证 → 结婚): a law says 结婚年龄 where the citizen says 领结婚证.
    words = analyzer.words(f"{text} {official}") + analyzer.tokens(f"{text} {official}")
    asking = _asking_terms()
    terms = set()
    for word in words:  # as ``Analyzer.content_terms``, judging the word as asked and in its canonical form
        term = analyzer.canonical.get(word, word)
        if len(word) < 2 or word in analyzer.stopwords or _ASKING.fullmatch(word) or term in asking:
            continue
        if term not in GENERIC and not any(term in p or p in term for p in places):
            terms.add(term)
    return frozenset(terms)


def shared_terms(terms: Iterable[str], text: str) -> set[str]:
    """The terms ``text`` mentions (as written, or as one of its retrieval tokens, synonyms folded)."""
    normalized = normalize(text)
    found = {t for t in terms if t in normalized}
    rest = set(terms) - found
    if rest:
        found |= rest & set(default_analyzer().tokens(normalized))
    return found


def coverage(terms: Iterable[str], text: str) -> int:
    """How much of the question ``text`` speaks of: the characters of the terms it shares, each counted once
    (机动车驾驶证 is one term, not also 机动车, 驾驶 and 动车)."""
    found = shared_terms(terms, text)
    return sum(len(t) for t in found if not any(t != u and t in u for u in found))


def sentences(text: str) -> list[str]:
    """The sentences (and "；" clauses) of ``text``, line by line, stripped."""
    return [s.strip() for line in text.splitlines() for s in split_sentences(line) if s.strip()]


def full_sentences(text: str) -> list[str]:
    """Like ``sentences``, with the "；" clauses of one sentence kept together: "再次违反规定的，处50元以上200元以下
    罚款。" reads only with the clauses before it. A line (an item of a list) is never joined to the next."""
    out: list[str] = []
    for line in text.splitlines():
        current = ""
        for piece in split_sentences(line):
            current += piece
            if piece.rstrip()[-1:] in FULL_STOPS:
                out.append(current.strip())
                current = ""
        if current.strip():
            out.append(current.strip())
    return out


def is_item(sentence: str) -> bool:
    return bool(_ITEM.match(sentence))


def without_marker(sentence: str) -> str:
    """An item's text without its "（一）" / "1." marker."""
    return _ITEM.sub("", sentence, count=1)


def as_sentence(text: str) -> str:
    """A piece cut out of a longer text, ending as a sentence: a trailing "；" or "，" becomes "。"."""
    text = text.strip().rstrip(_TRAILING)
    return text if not text or text[-1] in "。！？!?）)」”" else text + "。"


@dataclass(frozen=True)
class Asked:
    """What a question wants from a source: its topic terms, the kind of value, the field cues."""

    terms: frozenset[str]
    value: re.Pattern[str] | None
    cues: tuple[re.Pattern[str], ...]
    penalty: bool
    wants_list: bool  # materials, conditions, "哪些": the whole enumeration is the answer
    fields: tuple[str, ...] = ()
    numbers: re.Pattern[str] | None = None  # the numbers the question states (满6岁), in either script

    @classmethod
    def of(cls, question: str, fields: Sequence[str] = ()) -> Asked:
        text = normalize(question)
        kind = answer_type(text)
        return cls(
            terms=question_terms(question),
            value=kind[1] if kind else None,
            cues=tuple(FIELD_CUES[f] for f in fields if f in FIELD_CUES),
            penalty=bool(PENALTY_ASKED.search(text)),
            wants_list=any(f in ("materials", "conditions") for f in fields) or "哪些" in text or "哪几" in text,
            fields=tuple(fields),
            numbers=stated_numbers(text),
        )

    @property
    def names_field(self) -> bool:
        """A field other than 受理条件 (whose sentences rarely say 条件) or a consequence is asked: something a
        source visibly holds or not."""
        return self.penalty or any(f in FIELD_CUES and f != "conditions" for f in self.fields)

    def looks_asked(self, text: str) -> bool:
        """Holds the value asked, or looks like the field or the consequence asked."""
        value, cue, _ = self.score(text, terms=False)
        return bool(value or cue)

    def score(self, sentence: str, *, terms: bool = True) -> tuple[int, int, int]:
        """(holds the value asked, looks like the field or penalty asked, topic terms shared)."""
        value = int(bool(self.value and self.value.search(sentence)))
        cue = int(any(c.search(sentence) for c in self.cues) or (self.penalty and bool(PENALTY_TEXT.search(sentence))))
        return value, cue, coverage(self.terms, sentence) if terms else 0


def lead_sentence(text: str, asked: Asked, *, strict: bool = False) -> str | None:
    """The one sentence of ``text`` that answers, copied (an item of a list with the sentence introducing it);
    None when ``text`` is short enough to be its own answer, when its first sentence already is the answer,
    when the answer is a whole list, or when no sentence answers. ``strict``: only a sentence that holds the
    value or looks like the field asked counts (policies and FAQ answers, where a lead is optional)."""
    pieces = full_sentences(text)
    if len(pieces) < 2 or len(text.strip()) < MIN_LEAD_SOURCE:
        return None
    scored = [(asked.score(s), -i, i) for i, s in enumerate(pieces)
              if not s.endswith(_QUESTION_ENDS) and not s.rstrip().endswith(("：", ":"))]
    if not scored:
        return None
    (value, cue, overlap), _, best = max(scored)
    if value + cue == 0 and (strict or overlap == 0 or _tied(scored, overlap)):
        return None  # nothing answers, or only words are shared and another sentence shares as many
    if asked.wants_list and not value:
        return None  # materials, conditions, "哪些": the article's list is the answer, not one sentence of it
    if best == 0 or _opens_as_well(pieces[0], asked, (value, cue, overlap)):
        return None  # the source already opens with its answer
    sentence = pieces[best]
    if is_item(sentence):
        intro = next((pieces[i] for i in range(best - 1, -1, -1) if not is_item(pieces[i])), "")
        if not intro.rstrip().endswith(("：", ":")):
            return as_sentence(without_marker(sentence)) if intro else None
        gap = "" if best > 0 and pieces.index(intro) == best - 1 else "……"
        return intro + gap + as_sentence(sentence)
    return as_sentence(sentence)


def _tied(scored: list[tuple[tuple[int, int, int], int, int]], overlap: int) -> bool:
    """Chosen by shared words alone, the best sentence must stand out: another sharing nearly as much (two items
    of one list) means the words do not tell which one answers."""
    runner_up = sorted((o for (_, _, o), _, _ in scored), reverse=True)[1:2]
    return bool(runner_up) and overlap < LEAD_MARGIN * runner_up[0]


def _opens_as_well(opening: str, asked: Asked, best: tuple[int, int, int]) -> bool:
    """The first sentence answers as well as the best (a word fewer, for a sentence holding what is asked: long
    sentences share more words): leading with the best would say the same twice."""
    if opening.rstrip().endswith(("：", ":")):
        return False  # "…享受下列便利：" introduces the answer, it is not one
    value, cue, overlap = asked.score(opening)
    return (value, cue) >= best[:2] and overlap >= best[2] - (2 if best[0] or best[1] else 0)


def matching_sentence(text: str, cue: re.Pattern[str], terms: Iterable[str]) -> str | None:
    """The first sentence of ``text`` that looks like ``cue`` and shares a topic term, as a sentence."""
    terms = list(terms)
    for sentence in sentences(text):
        if cue.search(sentence) and shared_terms(terms, sentence):
            return as_sentence(without_marker(sentence))
    return None
