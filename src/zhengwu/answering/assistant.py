"""The one ``Assistant`` every channel adapts: question in, grounded ``Answer`` out.

Order of work for a question (each step its own module): check the input (``guards``), answer questions about
the asker's own data (``personal_questions``), decline what a government assistant does not answer, give a
staff-curated answer if one was published for it (or a paraphrase), resolve a follow-up against the session
(``followups``), decide which regions may answer (``scope``), retrieve, check that the evidence really covers
the question (``grounding``), then have the generator write the answer or compose it (``composer``) — or
refuse.

The assistant is built by the composition root (``zhengwu.bootstrap.build_assistant``), which plugs the
optional seams (``seams``) in; every one of them may be left out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from zhengwu.answering import wording
from zhengwu.answering.answer import Answer
from zhengwu.answering.answerability import AnswerabilityModel, answer_features
from zhengwu.answering.composer import compose
from zhengwu.answering.followups import resolve_followup
from zhengwu.answering.grounding import evidence_of, grounded
from zhengwu.answering.guards import clean_question, declined, input_problem, refuse
from zhengwu.answering.handoff import handoff_answer
from zhengwu.answering.message_kind import MessageKind, classify_message
from zhengwu.answering.personal_questions import personal_answer
from zhengwu.answering.scope import TITLE_NAMED, covered_label, region_filters, uncovered_regions
from zhengwu.answering.seams import CuratedAnswers, Generator, Personaliser, TurnLog, TurnSessions
from zhengwu.answering.selection import fields_asked, same_item_group
from zhengwu.answering.sessions import MemorySessionStore, Session, SessionStore, new_session_id, owner_of
from zhengwu.answering.user import UserContext
from zhengwu.config import Settings
from zhengwu.index import Index
from zhengwu.index.store import DocMeta, StoredChunk
from zhengwu.retrieval.fusion import fusion_for
from zhengwu.retrieval.query import Analysis, analyse, canonical_region, region_chain
from zhengwu.retrieval.retriever import DocHit, Filters, Reranker, Retriever

log = logging.getLogger("zhengwu.assistant")

RETRIEVED = 10  # documents ranked per question (kept in the answer for evaluation and review)
SUGGESTION_TITLE_MATCH = 0.5  # a suggestion query must name the item at least this well
ALTERNATIVES = 3  # answers weighed by the answerability model: from the best document and the next two
ECHOED_MESSAGE_CHARS = 2000  # of a handed-off message, what the answer (and the transcript) keeps


class Assistant:
    def __init__(
        self,
        settings: Settings,
        *,
        index: Index,
        sessions: SessionStore | None = None,
        turns: TurnLog | None = None,
        curated: CuratedAnswers | None = None,
        generator: Generator | None = None,
        personaliser: Personaliser | None = None,
        reranker: Reranker | None = None,
        on_dense_health: Callable[[bool], None] | None = None,
        turn_sessions: TurnSessions | None = None,
    ) -> None:
        """``turn_sessions``: ``sessions`` again when it lives in the turn log's database; each turn's session
        and transcript are then written in one transaction (one commit per answer, not two)."""
        self.settings = settings
        self.turn_sessions = turn_sessions
        self.index = index
        self.retriever = Retriever(
            index, fusion=fusion_for(settings.fusion, settings.fusion_model, settings.dense_weight),
            reranker=reranker, on_dense_health=on_dense_health,
        )
        self.sessions: SessionStore = sessions or MemorySessionStore()
        self.turns = turns  # conversation turns are logged there (masked)
        self.curated = curated
        self.generator = generator
        self.personaliser = personaliser
        # The last check on an answer (answerability.py); None: the older coverage rule in ``grounding``.
        self.answerability: AnswerabilityModel | None = None
        if settings.answerability == "learned":
            self.answerability = AnswerabilityModel.load(settings.answerability_model)
            if settings.answerability_threshold is not None:
                self.answerability = replace(self.answerability, threshold=settings.answerability_threshold)
        self.coverage_rule = self.answerability is None
        # Called with each checked answer's features: how evaluation/fit_answerability.py collects them.
        self.on_answer_features: Callable[[dict[str, float], Answer], None] | None = None

    # -- public API ----------------------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load the tokenizer dictionary, the BM25 index and the model now rather than on the first question."""
        self.retriever.retrieve("居民身份证办理地点", Filters(), k=1)

    def ask(
        self, question: str, session: str | Session | None = None, user: UserContext | dict | None = None,
        on_delta: Callable[[str], None] | None = None,
        channel: str = "web",
    ) -> Answer:
        """Answer one question. ``on_delta`` receives verified sentences of an LLM answer as they stream in;
        if the final answer does not come from the LLM (``answer.provenance``), what it received is void."""
        started = time.perf_counter()
        # ``session``: its id, or the session the caller already looked up (the web API: read once).
        state = session if isinstance(session, Session) else self.sessions.get(session)
        user = self._as_user(user)
        owner = owner_of(channel, user.binding)
        if state.owner is None:
            state.owner = owner
        elif state.owner != owner:  # somebody else's conversation: never continue it, start a fresh one
            state = Session(new_session_id(), owner=owner)
        user = self._user(user, state)
        answer = self._answer(question if isinstance(question, str) else "", state, user, on_delta)
        answer.session_id = state.session_id
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        state.record(answer.status)
        self._record(state, user.owner, channel, answer)
        return answer

    def _record(self, state: Session, owner: int | None, channel: str, answer: Answer) -> None:
        """Save the session and log the turn (masked): in one transaction when both share a database."""
        together = self.turns is not None and self.turn_sessions is not None
        if not together:
            self.sessions.save(state, user_id=owner)
        if self.turns is None:
            return
        turn_sessions = self.turn_sessions

        def save_session(connection: Any) -> None:
            assert turn_sessions is not None
            turn_sessions.save_in(connection, state, owner)

        try:
            answer.turn_id = self.turns.log_turn(
                state.session_id, owner, channel, answer.question, answer.text, answer.status,
                citations=answer.citations, retrieved=answer.retrieved, path=answer.path, reason=answer.reason,
                latency_ms=answer.latency_ms, handoff=answer.handoff, also=save_session if together else None,
            )
        except Exception:  # noqa: BLE001 - a log write must never cost the citizen the answer
            log.exception("could not log the conversation turn")
            if together:  # the follow-up still needs the session
                self.sessions.save(state, user_id=owner)

    @staticmethod
    def _as_user(user: UserContext | dict | None) -> UserContext:
        if isinstance(user, dict):
            return UserContext(region=user.get("region"), profile=user)
        return user or UserContext()

    @staticmethod
    def _user(user: UserContext, state: Session) -> UserContext:
        """The asker, with the region that steers retrieval: the one they state (remembered in the session),
        else the consenting user's home region (profile data: used while they consent, never remembered),
        else the one the session remembers."""
        if user.region:
            state.region = user.region
        elif user.personal and user.personal.region:
            user.region = user.personal.region
        elif state.region:
            user = UserContext(region=state.region, profile=user.profile, personal=user.personal, user_id=user.user_id)
        return user

    # -- steps ---------------------------------------------------------------------------------------------
    def _answer(
        self, question: str, state: Session, user: UserContext, on_delta: Callable[[str], None] | None = None
    ) -> Answer:
        hotline = self.settings.hotline
        cleaned = clean_question(question)
        # A complaint, report or suggestion is handed off, not answered from a law (and, being longer than a
        # question, not turned away as too long).
        if cleaned and len(cleaned) <= self.settings.max_message_chars:
            kind = classify_message(cleaned)
            if kind.hand_off:
                return self._handoff(cleaned, kind)
        early = input_problem(cleaned, self.settings.max_question_chars, hotline) or personal_answer(
            cleaned, user, self.personaliser, hotline, names_an_item=self._names_an_item,
            suggest_doc=lambda query: self._suggest_doc(query, user))
        if early is not None:
            return early
        analysis = analyse(cleaned)
        refusal = declined(cleaned, analysis, hotline)
        if refusal is not None:
            return refusal
        # A follow-up ("那电话呢？") means what the conversation is about: no curated question asks that.
        if self.curated is not None and not (analysis.followup and state.subject):
            curated = self._curated(cleaned, state)
            if curated is not None:
                return curated

        query, followup = resolve_followup(analysis, state, self.retriever, self.generator)
        covered = self.index.regions()
        filters, prefer = region_filters(analysis, user.region, covered)
        hits = self._retrieve(query, filters, state.subject if followup else None)
        retrieved = [h.doc.doc_id for h in hits]
        evidence = evidence_of(self.index, hits[0]) if hits else ""

        foreign = uncovered_regions(analysis, hits, covered, evidence)
        if foreign:
            places = "、".join(foreign)
            answer = refuse(cleaned, "out_of_region",
                            wording.say(wording.OUT_OF_REGION, hotline, covered=covered_label(covered), places=places))
            answer.retrieved = retrieved
            return answer
        if not hits or not grounded(self.index, query, analysis.regions, hits[0], evidence, followup,
                                    coverage_rule=self.coverage_rule):
            answer = refuse(cleaned, "weak_evidence", wording.say(wording.WEAK_EVIDENCE, hotline))
            answer.retrieved = retrieved
            return answer

        same_item = None if followup else same_item_group(hits, prefer)
        fields = fields_asked(analysis, hits[0])
        written = None
        if self.generator is not None:
            written = self.generator.answer(cleaned, same_item or hits, self.index.store, fields, on_delta=on_delta)
        # No LLM configured, or its reply failed verification: the grounded composer.
        answer = written or compose(cleaned, hits, self.index.store, fields=fields, same_item=same_item)
        # A guide named outright, asked for one of its fields, answers from that field: nothing to weigh.
        named_field = hits[0].title >= TITLE_NAMED and hits[0].doc.doc_type == "service_guide" and bool(fields)
        if not followup and not named_field:
            alternatives = written is None and same_item is None and hits[0].title < TITLE_NAMED
            chosen = self._best_supported(cleaned, analysis, hits, answer, alternatives)
            if chosen is None:
                refusal = refuse(cleaned, "weak_evidence", wording.say(wording.WEAK_EVIDENCE, hotline))
                refusal.retrieved = retrieved
                return refusal
            hits, answer = chosen
            fields = fields_asked(analysis, hits[0])
        answer.retrieved = retrieved
        top = same_item[0] if same_item else hits[0]
        if user.personal and self.personaliser:
            self.personaliser.decorate(answer, top.doc, fields, user.personal)
            if user.personal.region and prefer and prefer == canonical_region(user.personal.region):
                answer.personal.insert(0, "region")
        self._remember_subject(state, top.doc)
        return answer

    def _best_supported(self, question: str, analysis: Analysis, hits: list[DocHit], answer: Answer,
                        alternatives: bool) -> tuple[list[DocHit], Answer] | None:
        """The answer whose cited passages best answer the question, if the answerability model finds it good
        enough; None: refuse. Besides the answer from the best document, the composer's answers from the next
        ``ALTERNATIVES - 1`` documents are weighed (the right law is often second): the model reads what each
        one would quote. Without a model the best document's answer stands."""
        if self.answerability is None and self.on_answer_features is None:
            return hits, answer
        candidates = [(hits, answer)]
        if alternatives:
            for i in range(1, min(ALTERNATIVES, len(hits))):
                reordered = [hits[i], *hits[:i], *hits[i + 1:]]
                composed = compose(question, reordered, self.index.store, fields=fields_asked(analysis, hits[i]))
                candidates.append((reordered, composed))
        best, best_p = candidates[0], -1.0
        for rank, (ranked, candidate) in enumerate(candidates):
            features = answer_features(self.index, analysis, ranked, candidate, rank=rank)
            if self.on_answer_features is not None:
                self.on_answer_features(features, candidate)
            p = self.answerability.probability(features) if self.answerability is not None else 1.0 - rank
            if p > best_p:
                best, best_p = (ranked, candidate), p
        if self.answerability is not None and best_p < self.answerability.threshold:
            return None
        return best

    def _handoff(self, message: str, kind: MessageKind) -> Answer:
        covered = self.index.regions()
        return handoff_answer(message[:ECHOED_MESSAGE_CHARS], kind, hotline=self.settings.hotline,
                              covered=covered, complaint_line=self._complaint_line(kind, covered))

    def _complaint_line(self, kind: MessageKind, covered: frozenset[str]) -> tuple[DocMeta, StoredChunk] | None:
        """A guide of the department the matter is for, in the place the message names, that lists a
        complaint phone: the department's own complaint line. None unless the place is covered."""
        place = canonical_region(kind.place) if kind.place else None
        if not kind.department or not place or place not in covered:
            return None
        filters = Filters(regions=tuple(r for r in region_chain(place) if r in covered), prefer_region=place)
        for hit in self.retriever.retrieve(f"{kind.department} 投诉", filters, k=5):
            if hit.doc.doc_type != "service_guide" or kind.department not in hit.doc.department:
                continue
            for chunk in self.index.store.chunks_of(hit.doc.doc_id):
                if chunk.field == "complaint" and chunk.text.strip() not in ("", "无"):
                    return hit.doc, chunk
        return None

    def _retrieve(self, query: str, filters: Filters, subject: str | None) -> list[DocHit]:
        """The ranked documents; for a follow-up, the conversation's item first ("那需要什么材料？" is about
        it, not a fresh search)."""
        docs = self.index.documents()
        if subject is not None and subject in docs:
            found = self.retriever.retrieve(query, filters, k=RETRIEVED)
            return [DocHit(doc=docs[subject], score=1.0, title=1.0)] + [h for h in found if h.doc.doc_id != subject]
        return self.retriever.retrieve(query, filters, k=RETRIEVED)

    @staticmethod
    def _remember_subject(state: Session, doc: DocMeta | None) -> None:
        """Follow-ups then ask about this item (guides only: a law is not an item one applies for)."""
        if doc is not None and doc.doc_type == "service_guide":
            state.subject, state.subject_title = doc.doc_id, doc.title
        else:
            state.subject, state.subject_title = None, None

    def _curated(self, question: str, state: Session) -> Answer | None:
        assert self.curated is not None
        try:
            answer = self.curated.answer(question)
        except Exception:  # noqa: BLE001 - without the curated answers the index still answers
            log.exception("curated answers unavailable; answering from the index")
            return None
        if answer is not None:
            self._remember_subject(state, self.index.documents().get(answer.citations[0].doc_id))
        return answer

    def _names_an_item(self, text: str) -> bool:
        hits = self.retriever.retrieve(text, Filters(), k=1)
        return bool(hits) and hits[0].title >= TITLE_NAMED

    def filters_for(self, query: str, region: str | None) -> Filters:
        """The retrieval filters for a fresh question from an asker of ``region`` (as ``ask`` builds them)."""
        filters, _ = region_filters(analyse(query), region, self.index.regions())
        return filters

    def _suggest_doc(self, query: str, user: UserContext) -> DocMeta | None:
        hits = self.retriever.retrieve(query, self.filters_for(query, user.region), k=1)
        return hits[0].doc if hits and hits[0].title >= SUGGESTION_TITLE_MATCH else None
