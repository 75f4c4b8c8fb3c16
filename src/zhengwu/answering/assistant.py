"""The one ``Assistant`` every channel adapts: question in, grounded ``Answer`` out.

Order of work for a question: check the input, give a staff-curated answer if one was published for it (or a
paraphrase), resolve a follow-up against the session, decide which regions may answer, retrieve, check that the
evidence really covers the question, then compose (or refuse).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from zhengwu.answering.answer import Answer
from zhengwu.answering.composer import compose
from zhengwu.config import Settings, get_settings
from zhengwu.documents.document import NATIONAL
from zhengwu.index.index import Index
from zhengwu.personal.personalise import (
    HOW_TO_CHECK,
    NEXT_STEP_QUESTION,
    STATUS_QUESTION,
    SUGGEST_QUESTION,
    PersonalContext,
    load_personaliser,
)
from zhengwu.privacy import mask_pii
from zhengwu.retrieval.query import Analysis, analyse, canonical_region, detect_fields, region_chain
from zhengwu.retrieval.retriever import DocHit, Filters, Retriever
from zhengwu.answering.sessions import MemorySessionStore, Session, SessionStore
from zhengwu.index.analyzer import han_ratio, looks_english, normalize

MIN_COVERAGE = 0.15
log = logging.getLogger("zhengwu.assistant")


@dataclass
class UserContext:
    """What a channel knows about the asker. ``region`` is honoured only as the user's stated place.

    ``personal`` is set only when the user consented to personalisation (PIPL): their profile region, tags
    and service history. Without it the assistant gives everyone the same grounded answer."""

    region: str | None = None
    profile: dict = field(default_factory=dict)
    personal: PersonalContext | None = None
    # The channel user the conversation belongs to, consenting or not: their session and transcript are
    # linked to it so that export and deletion find them. Never used to shape the answer.
    user_id: int | None = None


class Assistant:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        index: Index | None = None,
        sessions: SessionStore | None = None,
        people=None,
        curated=None,
    ) -> None:
        self.settings = settings or get_settings()
        self.index = index or Index(self.settings)
        self.retriever = Retriever(
            self.index, dense_weight=self.settings.dense_weight, reranker=_make_reranker(self.settings)
        )
        self.sessions: SessionStore = sessions or MemorySessionStore()
        self.generator = _make_generator(self.settings)
        self.personaliser = load_personaliser(self.settings.corpus_dir, self.index.store, self.index.documents)
        self.people = people  # the personal-data store: conversation turns are logged there (masked)
        # Staff-approved answers (zhengwu.review.curated), kept beside the people store when there is one.
        self.curated = curated if curated is not None else _make_curated(people, self.index)

    # -- public API ----------------------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load the tokenizer dictionary, the BM25 index and the model now rather than on the first question."""
        self.retriever.retrieve("居民身份证办理地点", Filters(), k=1)

    def ask(
        self, question: str, session: str | None = None, user: UserContext | dict | None = None,
        on_delta: Callable[[str], None] | None = None,
        channel: str = "web",
    ) -> Answer:
        """Answer one question. ``on_delta`` receives verified sentences of an LLM answer as they stream in;
        if the final answer does not come from the LLM (``answer.path``), what it received is void."""
        started = time.perf_counter()
        state = self.sessions.get(session)
        if isinstance(user, dict):
            user = UserContext(region=user.get("region"), profile=user)
        user = user or UserContext()
        if user.region:
            state.region = user.region
        elif user.personal and user.personal.region:
            # The consenting user's home region steers retrieval, but only while they consent: it is profile
            # data, so it is not remembered in the session (which holds no personal data).
            user.region = user.personal.region
        elif state.region:
            user = UserContext(region=state.region, profile=user.profile, personal=user.personal, user_id=user.user_id)
        answer = self._answer(question if isinstance(question, str) else "", state, user, on_delta)
        answer.session_id = state.session_id
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        state.record(answer.status)
        owner = user.user_id or (user.personal.user_id if user.personal else None)
        self.sessions.save(state, user_id=owner)
        if self.people is not None:
            try:
                answer.turn_id = self.people.log_turn(
                    state.session_id, owner, channel, answer.question, answer.text, answer.status,
                    citations=answer.citations, retrieved=answer.retrieved, path=answer.path, reason=answer.reason,
                    latency_ms=answer.latency_ms,
                )
            except Exception:  # noqa: BLE001 - a log write must never cost the citizen the answer
                log.exception("could not log the conversation turn")
        return answer

    # -- steps ---------------------------------------------------------------------------------------------
    def _answer(
        self, question: str, state: Session, user: UserContext, on_delta: Callable[[str], None] | None = None
    ) -> Answer:
        cleaned = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
        # An ID or mobile number never helps retrieval; masked here, it reaches no prompt, log or transcript
        # (nor the question of an answer that asks back, such as a question too long or not in Chinese).
        cleaned = mask_pii(cleaned)
        problem = self._input_problem(cleaned)
        if problem:
            return problem
        personal = self._personal_question(cleaned, user)
        if personal is not None:
            return personal
        analysis = analyse(cleaned)
        if analysis.personal_lookup:
            return self._refuse(
                cleaned,
                "personal_data",
                "抱歉，我不能查询或提供个人信息（如身份证号、手机号、账户余额等）。"
                "查询本人业务信息，请携带有效身份证件到办事窗口办理，或登录官方政务服务平台查询；"
                f"也可拨打 {self.settings.hotline} 政务服务便民热线。",
            )
        if analysis.out_of_scope:
            return self._refuse(
                cleaned,
                "out_of_scope",
                "抱歉，我是政务服务助手，只能解答办事指南、政策法规方面的问题，这个问题超出了我的服务范围。"
                f"如需其他帮助，可拨打 {self.settings.hotline} 政务服务便民热线。",
            )
        # A follow-up ("那电话呢？") means what the conversation is about: no curated question asks that.
        if self.curated is not None and not (analysis.followup and state.subject):
            curated = self._curated(cleaned, state)
            if curated is not None:
                return curated

        query, followup = self._resolve_followup(analysis, state)
        docs = self.index.documents()
        covered = self.index.regions()
        filters, prefer = self._filters(analysis, user, covered)
        if followup and state.subject in docs:
            # "那需要什么材料？": the item is the one the conversation is about, not a fresh search.
            subject = DocHit(doc=docs[state.subject], score=1.0, title=1.0)
            hits = [subject] + [h for h in self.retriever.retrieve(query, filters, k=10) if h.doc.doc_id != state.subject]
        else:
            hits = self.retriever.retrieve(query, filters, k=10)
        retrieved = [h.doc.doc_id for h in hits]
        evidence = self._evidence(hits[0]) if hits else ""

        foreign = self._uncovered_regions(analysis, hits, covered, evidence)
        if foreign:
            places = "、".join(foreign)
            have = "、".join(sorted(r for r in covered if r != NATIONAL)) or "国家层面"
            answer = self._refuse(
                cleaned,
                "out_of_region",
                f"抱歉，目前收录的是{have}及国家层面的办事指南和政策法规，暂未收录{places}的相关内容，"
                f"无法准确回答。请拨打当地 {self.settings.hotline} 政务服务便民热线或咨询{places}相关部门。",
            )
            answer.retrieved = retrieved
            return answer

        if not hits or not self._grounded(query, analysis, hits[0], evidence, followup):
            answer = self._refuse(
                cleaned,
                "weak_evidence",
                "抱歉，现有资料中没有找到能够回答这个问题的内容，我不便作出答复。"
                f"建议拨打 {self.settings.hotline} 政务服务便民热线，或咨询相关主管部门。",
            )
            answer.retrieved = retrieved
            return answer

        same_item = None if followup else self._same_item_group(hits, prefer)
        fields = self._fields_asked(analysis, hits[0])
        answer = None
        if self.generator is not None:
            answer = self.generator.answer(cleaned, same_item or hits, self.index.store, fields, on_delta=on_delta)
        if answer is None:  # no LLM configured, or its reply failed verification: the grounded composer
            answer = compose(cleaned, hits, self.index.store, fields=fields, same_item=same_item)
        answer.retrieved = retrieved
        top = same_item[0] if same_item else hits[0]
        if user.personal and self.personaliser:
            self.personaliser.decorate(answer, top.doc, fields, user.personal)
            if user.personal.region and prefer and prefer == canonical_region(user.personal.region):
                answer.personal.insert(0, "region")
        if top.doc.doc_type == "service_guide":
            state.subject, state.subject_title = top.doc.doc_id, top.doc.title
        else:
            state.subject, state.subject_title = None, None
        return answer

    def _curated(self, question: str, state: Session) -> Answer | None:
        try:
            answer = self.curated.answer(question)
        except Exception:  # noqa: BLE001 - without the curated answers the index still answers
            log.exception("curated answers unavailable; answering from the index")
            return None
        if answer is not None:
            top = self.index.documents().get(answer.citations[0].doc_id)
            if top is not None and top.doc_type == "service_guide":  # follow-ups then ask about this item
                state.subject, state.subject_title = top.doc_id, top.title
            else:
                state.subject, state.subject_title = None, None
        return answer

    @staticmethod
    def _fields_asked(analysis: Analysis, top: DocHit) -> list[str]:
        """Fields asked about, read from the question without the item's own name: "司法戒毒执法投诉" names
        an item, it does not ask for the complaint phone."""
        if top.title < 0.9:
            return analysis.fields
        text = analysis.text
        for name in (top.doc.title, top.doc.extra.get("item_name", "")):
            if name:
                text = text.replace(normalize(name), " ")
        return detect_fields(text)

    def _personal_question(self, text: str, user: UserContext) -> Answer | None:
        """Questions only the asker's own data answers: their applications' status, their next steps,
        suggestions for them. Without consent and a linked identity the citizen is told how to get there."""
        if "我" not in text:
            return None
        if STATUS_QUESTION.search(text) and not HOW_TO_CHECK.search(text):
            if user.personal and user.personal.linked and self.personaliser:
                return self.personaliser.status_answer(text, user.personal)
            return Answer(
                question=text, status="clarify", reason="needs_consent",
                text="查询本人的办件进度，需要先在本渠道绑定身份并同意使用您的办件记录（发送“开启个性化”了解详情）。"
                "您也可以登录政务服务网“我的办件”查询，或拨打 "
                f"{self.settings.hotline} 政务服务便民热线。",
            )
        if not (user.personal and self.personaliser):
            if SUGGEST_QUESTION.search(text) and not self._names_an_item(text):
                # "有哪些适合我的政策？" has no answer that fits everyone; guessing from one document misleads.
                return Answer(
                    question=text, status="clarify", reason="needs_consent",
                    text="推荐适合您的事项和政策，需要您同意使用办件记录和身份信息（发送“开启个性化”了解详情）。"
                    "您也可以直接问具体事项，例如：“办理居住证需要什么材料？”",
                )
            return None
        if NEXT_STEP_QUESTION.search(text):
            return self.personaliser.next_step_answer(text, user.personal)
        if SUGGEST_QUESTION.search(text) and user.personal.tags:
            return self.personaliser.suggestion_answer(text, user.personal, self._suggest_doc(user))
        return None

    def _names_an_item(self, text: str) -> bool:
        hits = self.retriever.retrieve(text, Filters(), k=1)
        return bool(hits) and hits[0].title >= 0.9

    def _suggest_doc(self, user: UserContext):
        def retrieve(query: str):
            filters, _ = self._filters(analyse(query), user, self.index.regions())
            hits = self.retriever.retrieve(query, filters, k=1)
            return hits[0].doc if hits and hits[0].title >= 0.5 else None

        return retrieve

    def _input_problem(self, text: str) -> Answer | None:
        if not text:
            return Answer(question=text, status="clarify", reason="empty",
                          text="请问您想咨询什么事项？例如：“往来台湾通行证签注在哪里办理？”")
        if len(text) > self.settings.max_question_chars:
            return Answer(
                question=text[:200], status="clarify", reason="too_long",
                text=f"您的问题有{len(text)}个字，超过了{self.settings.max_question_chars}字的上限。"
                "请用一两句话说明您要办理的事项和想了解的内容（如材料、地点、时限、电话）。",
            )
        if looks_english(text):
            return Answer(
                question=text, status="clarify", reason="language",
                text="目前仅支持中文提问，请用中文描述您的问题。"
                "(Only questions in Chinese are supported at the moment. Please ask in Chinese, "
                f"or call the {self.settings.hotline} hotline.)",
            )
        if han_ratio(text) < 0.2:
            return Answer(question=text, status="clarify", reason="unreadable",
                          text="抱歉，没能看懂您的问题，请用中文简要描述您要办理的事项。")
        return None

    def _resolve_followup(self, analysis: Analysis, state: Session) -> tuple[str, bool]:
        """'那需要什么材料？' after a question about an item asks about that item.

        Returns the text to retrieve with: the question as asked (the model and the tokenizer normalise it
        themselves), prefixed with the item's title for a follow-up."""
        question = analysis.raw
        if not state.subject_title:
            return question, False
        if not (analysis.followup or (analysis.fields and len(analysis.text) <= 14)):
            return question, False
        named = self.retriever.retrieve(question, Filters(), k=1)
        if named and named[0].title >= 0.9:
            return question, False  # short, but it names an item of its own
        if self.generator is not None:
            rewritten = self.generator.rewrite(state.subject_title, question)
            if rewritten:
                return f"{state.subject_title} {rewritten}", True
        return f"{state.subject_title} {question}", True

    def _filters(self, analysis: Analysis, user: UserContext, covered: frozenset[str]) -> tuple[Filters, str | None]:
        named = [r for r in analysis.regions if r in covered]
        home = canonical_region(user.region)
        place = named[0] if named else home
        if home and named and named[0] in region_chain(home):
            place = home  # "广东…" in a question from Guangzhou: Guangzhou's own items come first
        if not place:
            return Filters(), None
        allowed = tuple(r for r in region_chain(place) if r in covered or r == NATIONAL)
        return Filters(regions=allowed, prefer_region=place), place

    def _evidence(self, hit: DocHit) -> str:
        """The best document's best chunks, normalised: what the region and coverage checks read."""
        chunks = self.index.store.get_chunks([cid for cid, _ in hit.chunks[:3]])
        return normalize(" ".join(c.text for c in chunks.values()))

    def _uncovered_regions(
        self, analysis: Analysis, hits: list[DocHit], covered: frozenset[str], evidence: str
    ) -> list[str]:
        titles = " ".join(normalize(h.doc.title) for h in hits[:3])
        out = []
        for region in analysis.regions:
            if region in covered:
                continue
            chain = region_chain(region)
            # A district inside a covered city is covered by the city's documents.
            if region.endswith(("区", "县")) and len(chain) > 1 and chain[1] in covered:
                continue
            short = region.rstrip("市省")
            if short in titles:
                continue  # the place is part of an item's name (往来台湾通行证, 援藏工作队赴西藏…)
            if short in evidence and hits[0].doc.region == NATIONAL:
                # A document without a region of its own (a KB with no region metadata) that speaks of the
                # place covers it; a Beijing regulation that mentions 天津 in passing does not.
                continue
            if hits and hits[0].title >= 0.9 and hits[0].doc.region in chain:
                continue  # a provincial item named outright also serves the cities of the province
            out.append(region)
        return out

    def _grounded(self, query: str, analysis: Analysis, top: DocHit, evidence: str, followup: bool) -> bool:
        """Does the best evidence actually mention what the question is about?"""
        if top.title >= 0.9 or followup:
            return True
        # A backstop only: places and off-topic requests are refused earlier, by rule. Measured on the dev
        # sets (docs/retrieval.md), answerable questions rarely fall below this share of their words; a long
        # question that shares several words with the evidence is on topic even when its share is small.
        # (Requiring the question's rarest word as well refused one law question in two: citizens' words
        # are rarely the law's.)
        coverage, found = self._coverage(query, analysis.regions, top, evidence)
        return coverage >= MIN_COVERAGE or found >= 3

    def _coverage(self, query: str, regions: list[str], hit: DocHit, evidence: str) -> tuple[float, int]:
        """IDF-weighted share of the question's words found in the hit's title and best chunks, and how many
        distinct words were found.

        Place names are left out: whether a place is covered is decided separately, by region."""
        analyzer = self.index.analyzer
        places = {normalize(p) for p in regions}
        terms = {t for t in analyzer.content_terms(query) if not any(t in p for p in places)}
        if not terms:
            return 0.0, 0
        evidence = f"{normalize(hit.doc.title)} {evidence}"
        evidence_terms = set(analyzer.tokens(evidence))
        idf = self.index.sparse.idf
        found = [t for t in terms if t in evidence_terms or t in evidence]
        total = sum(idf(t) for t in terms)
        return (sum(idf(t) for t in found) / total if total else 0.0), len(found)

    def _same_item_group(self, hits: list[DocHit], prefer: str | None) -> list[DocHit] | None:
        """Same-name guides of several regions: the preferred region alone, or all of them, labelled."""
        top = hits[0]
        if top.doc.doc_type != "service_guide":
            return None
        name = top.doc.title
        group = [h for h in hits[:6] if h.doc.doc_type == "service_guide" and h.doc.title == name]
        regions = {h.doc.region for h in group}
        if len(regions) <= 1:
            return None
        if prefer:
            chosen = [h for h in group if h.doc.region == prefer]
            if chosen:
                return chosen[:1]
        firsts: dict[str, DocHit] = {}
        for h in group:
            firsts.setdefault(h.doc.region, h)
        return list(firsts.values())

    def _refuse(self, question: str, reason: str, text: str) -> Answer:
        return Answer(question=question, text=text, status="refused", reason=reason)


def _make_generator(settings: Settings):
    if not settings.llm_base_url:
        return None
    from zhengwu.answering.llm import LLMGenerator

    return LLMGenerator(settings)


def _make_curated(people, index: Index):
    engine = getattr(people, "engine", None)
    if engine is None:
        return None
    from zhengwu.review.curated import CuratedAnswers
    from zhengwu.review.store import ReviewStore

    return CuratedAnswers(ReviewStore(engine), index)


def _make_reranker(settings: Settings):
    if not settings.reranker_model:
        return None
    from zhengwu.retrieval.rerank import CrossEncoderReranker

    return CrossEncoderReranker(settings.reranker_model)
