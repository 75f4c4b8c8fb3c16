"""The review tables (staff accounts, reviews, feedback, curated answers) beside the personal-data store, on the
same engine (SQLite or PostgreSQL) and with the same conventions as ``zhengwu.personal.PeopleStore``: thread-safe,
one database session per call, plain dataclasses out.

Reviews and feedback hang off conversation turns with ON DELETE CASCADE, so erasing a citizen or purging old
turns takes them along (so do the 差评 rectifications and test cases of ``ratings``, whose methods this store
has too). Curated answers and staff accounts are not about citizens and stay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhengwu.answering.vocabulary import CHANNELS
from zhengwu.db.models import (
    ConversationTurn,
    CuratedAnswer,
    Feedback,
    Rectification,
    Review,
    SavedTestCase,
    StaffUser,
    utcnow,
)
from zhengwu.db.transactions import Transactional
from zhengwu.personal import TurnData, turn_data
from zhengwu.review.passwords import dummy_hash, hash_password, password_problem, verify_password
from zhengwu.review.ratings import Ratings, rated
from zhengwu.review.records import (
    CHINA_TIME,
    GAP_REASONS,
    RATINGS,
    REASONS,
    ROLES,
    CuratedData,
    GapTurn,
    ReviewData,
    Source,
    StaffData,
    TurnFilter,
    TurnSummary,
    level_of,
    question_key,
    thumbs_of,
)
from zhengwu.review.workdays import WorkCalendar

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")
MAX_ANSWER_CHARS = 4000


def _check(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
    return value


def _staff(row: StaffUser) -> StaffData:
    return StaffData(id=row.id, username=row.username, role=row.role, active=row.active, created_at=row.created_at)


def _review(row: Review) -> ReviewData:
    return ReviewData(
        id=row.id, turn_id=row.turn_id, reviewer=row.reviewer, rating=row.rating, reasons=list(row.reasons or []),
        corrected_answer=row.corrected_answer or "", sources=[Source.of(s) for s in row.sources or []],
        must_contain=list(row.must_contain or []), created_at=row.created_at, level=row.level,
    )


def _curated(row: CuratedAnswer) -> CuratedData:
    return CuratedData(
        id=row.id, question=row.question, answer=row.answer, sources=[Source.of(s) for s in row.sources or []],
        version=row.version, status=row.status, created_by=row.created_by, created_at=row.created_at,
        withdrawn_at=row.withdrawn_at, withdrawn_by=row.withdrawn_by, replaces_id=row.replaces_id,
        question_key=row.question_key,
    )


def _start_of(day: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CHINA_TIME)


class ReviewStore(Ratings, Transactional):
    # Publications and withdrawals made in this process: a worker sees its own changes on the next question
    # without asking the database (other workers see them within CuratedAnswers.REFRESH_SECONDS).
    local_changes = 0

    def __init__(self, engine: Any, calendar: WorkCalendar | None = None) -> None:
        super().__init__(engine)
        self._calendar = calendar

    @property
    def calendar(self) -> WorkCalendar:
        """Working days for rectification deadlines: the one given, else the settings' (``ZHENGWU_HOLIDAYS``)."""
        return self._calendar or WorkCalendar.from_settings()

    @classmethod
    def of(cls, people: Any, calendar: WorkCalendar | None = None) -> ReviewStore:
        """The review store beside a ``PeopleStore`` (same database)."""
        return cls(people.engine, calendar)

    # -- staff accounts -------------------------------------------------------------------------------------

    def add_staff(self, username: str, password: str, role: str) -> StaffData:
        if not USERNAME.fullmatch(username):
            raise ValueError("a user name has 2-64 characters: letters, digits, '.', '_' or '-', starting with a "
                             "letter or digit")
        _check(role, ROLES, "role")
        problem = password_problem(password)
        if problem:
            raise ValueError(problem)
        try:
            with self._write() as session:
                row = StaffUser(username=username, password_hash=hash_password(password), role=role, active=True,
                                created_at=utcnow())
                session.add(row)
                session.flush()
                return _staff(row)
        except IntegrityError as exc:
            raise ValueError(f"a staff user named {username!r} already exists") from exc

    def authenticate(self, username: str, password: str) -> StaffData | None:
        """The active staff user with this name and password, else None. Takes as long for an unknown name."""
        with self._read() as session:
            row = session.scalar(sa.select(StaffUser).where(StaffUser.username == username))
            found = _staff(row) if row is not None else None
            stored = row.password_hash if row is not None else dummy_hash()
        ok = verify_password(password, stored)
        return found if ok and found is not None and found.active else None

    def staff(self, username: str) -> StaffData | None:
        with self._read() as session:
            row = session.scalar(sa.select(StaffUser).where(StaffUser.username == username))
            return _staff(row) if row is not None else None

    def list_staff(self) -> list[StaffData]:
        with self._read() as session:
            return [_staff(r) for r in session.scalars(sa.select(StaffUser).order_by(StaffUser.username))]

    def _staff_row(self, session: Session, username: str) -> StaffUser:
        row = session.scalar(sa.select(StaffUser).where(StaffUser.username == username))
        if row is None:
            raise LookupError(f"no staff user named {username!r}")
        return row

    @staticmethod
    def _other_admins(session: Session, username: str) -> int:
        return session.scalar(
            sa.select(sa.func.count()).select_from(StaffUser).where(
                StaffUser.role == "admin", StaffUser.active.is_(True), StaffUser.username != username
            )
        ) or 0

    def set_password(self, username: str, password: str) -> None:
        problem = password_problem(password)
        if problem:
            raise ValueError(problem)
        with self._write() as session:
            self._staff_row(session, username).password_hash = hash_password(password)

    def set_role(self, username: str, role: str) -> StaffData:
        _check(role, ROLES, "role")
        with self._write() as session:
            row = self._staff_row(session, username)
            if row.role == "admin" and role != "admin" and row.active and not self._other_admins(session, username):
                raise ValueError("the last active administrator cannot be demoted")
            row.role = role
            return _staff(row)

    def set_active(self, username: str, active: bool) -> StaffData:
        with self._write() as session:
            row = self._staff_row(session, username)
            if row.role == "admin" and row.active and not active and not self._other_admins(session, username):
                raise ValueError("the last active administrator cannot be deactivated")
            row.active = active
            return _staff(row)

    # -- turns ----------------------------------------------------------------------------------------------

    def turn(self, turn_id: int) -> TurnData | None:
        with self._read() as session:
            row = session.get(ConversationTurn, turn_id)
            return turn_data(row) if row is not None else None

    @staticmethod
    def _latest_reviews() -> Any:
        return sa.select(Review.turn_id, sa.func.max(Review.id).label("review_id")).group_by(Review.turn_id).subquery()

    def search_turns(self, where: TurnFilter | None = None, limit: int = 50, offset: int = 0
                     ) -> tuple[list[TurnSummary], int]:
        """Turns matching the filter, newest first, with their latest rating and feedback; and how many match."""
        where = where or TurnFilter()
        latest = self._latest_reviews()
        query = (
            sa.select(ConversationTurn, Review.rating, Feedback.value, Feedback.level)
            .outerjoin(latest, latest.c.turn_id == ConversationTurn.id)
            .outerjoin(Review, Review.id == latest.c.review_id)
            .outerjoin(Feedback, Feedback.turn_id == ConversationTurn.id)
        )
        if where.text.strip():
            query = query.where(ConversationTurn.question.contains(where.text.strip(), autoescape=True))
        if where.status:
            query = query.where(ConversationTurn.status == where.status)
        if where.rating == "unrated":
            query = query.where(Review.id.is_(None))
        elif where.rating:
            query = query.where(Review.rating == where.rating)
        if where.feedback is not None:
            query = query.where(Feedback.value == where.feedback)
        if where.since:
            query = query.where(ConversationTurn.created_at >= _start_of(where.since))
        if where.until:
            query = query.where(ConversationTurn.created_at < _start_of(where.until + timedelta(days=1)))
        counted = sa.select(sa.func.count()).select_from(query.subquery())
        query = query.order_by(ConversationTurn.created_at.desc(), ConversationTurn.id.desc()).limit(limit).offset(offset)
        with self._read() as session:
            total = session.scalar(counted) or 0
            rows = session.execute(query).all()
            return [TurnSummary(turn=turn_data(t), rating=rating, feedback=value, level=level)
                    for t, rating, value, level in rows], total

    def conversation(self, session_id: str) -> list[TurnSummary]:
        """Every turn of a session in order, each with all its reviews and its feedback."""
        with self._read() as session:
            turns = list(session.scalars(
                sa.select(ConversationTurn).where(ConversationTurn.session_id == session_id)
                .order_by(ConversationTurn.created_at, ConversationTurn.id)
            ))
            ids = [t.id for t in turns]
            reviews: dict[int, list[ReviewData]] = {}
            for row in session.scalars(sa.select(Review).where(Review.turn_id.in_(ids)).order_by(Review.id)):
                reviews.setdefault(row.turn_id, []).append(_review(row))
            feedback = {turn_id: (value, level) for turn_id, value, level in session.execute(
                sa.select(Feedback.turn_id, Feedback.value, Feedback.level).where(Feedback.turn_id.in_(ids))
            )}
            rectified = dict(session.execute(
                sa.select(Rectification.turn_id, Rectification.id).where(Rectification.turn_id.in_(ids))).all())
            cases = set(session.scalars(sa.select(SavedTestCase.turn_id).where(SavedTestCase.turn_id.in_(ids))))
        return [
            TurnSummary(turn=turn_data(t), rating=reviews[t.id][-1].rating if t.id in reviews else None,
                        feedback=feedback[t.id][0] if t.id in feedback else None, reviews=reviews.get(t.id, []),
                        level=feedback[t.id][1] if t.id in feedback else None,
                        rectification_id=rectified.get(t.id), test_case=t.id in cases)
            for t in turns
        ]

    # -- reviews --------------------------------------------------------------------------------------------

    def add_review(
        self,
        turn_id: int,
        reviewer: str,
        rating: str,
        reasons: Iterable[str] = (),
        *,
        corrected_answer: str = "",
        sources: Iterable[Source | dict[str, Any]] = (),
        must_contain: Iterable[str] = (),
        level: int | None = None,
        calendar: WorkCalendar | None = None,
    ) -> ReviewData:
        """A staff review of a turn: its correctness ``rating`` and, optionally, a 好差评 ``level``; a 差评 level
        opens the turn's rectification (deadline from ``calendar``, else the settings')."""
        _check(rating, RATINGS, "rating")
        if level is not None:
            level = level_of(level=level)
        reasons = list(dict.fromkeys(reasons))
        for reason in reasons:
            _check(reason, REASONS, "reason")
        corrected_answer = corrected_answer.strip()
        if len(corrected_answer) > MAX_ANSWER_CHARS:
            raise ValueError(f"a corrected answer may have at most {MAX_ANSWER_CHARS} characters")
        with self._write() as session:
            if session.get(ConversationTurn, turn_id) is None:
                raise LookupError(f"no conversation turn with id {turn_id}")
            now = utcnow()
            earlier = session.scalar(sa.select(Review.level).where(Review.turn_id == turn_id, Review.level.is_not(None))
                                     .order_by(Review.id.desc()).limit(1)) if level is not None else None
            row = Review(
                turn_id=turn_id, reviewer=reviewer, rating=rating, reasons=reasons, corrected_answer=corrected_answer,
                sources=[Source.of(s).to_dict() for s in sources],
                must_contain=[m.strip() for m in must_contain if m.strip()], created_at=now, level=level,
            )
            session.add(row)
            session.flush()
            if level is not None:
                rated(session, turn_id, level, earlier, "reviewer", reviewer, now, calendar or self.calendar)
            return _review(row)

    def reviewed(self, min_rating: str | None = None, rating: str | None = None) -> list[tuple[TurnData, ReviewData]]:
        """Every reviewed turn with its latest review, oldest turn first. ``min_rating`` keeps reviews at least that
        good (correct > partly > wrong = should_refuse); ``rating`` keeps only that rating."""
        allowed = RATINGS
        if min_rating is not None:
            _check(min_rating, RATINGS, "rating")
            rank = {"correct": 3, "partly": 2, "wrong": 1, "should_refuse": 1}
            allowed = tuple(r for r in RATINGS if rank[r] >= rank[min_rating])
        if rating is not None:
            allowed = tuple(r for r in allowed if r == _check(rating, RATINGS, "rating"))
        latest = self._latest_reviews()
        query = (
            sa.select(ConversationTurn, Review)
            .join(latest, latest.c.turn_id == ConversationTurn.id)
            .join(Review, Review.id == latest.c.review_id)
            .where(Review.rating.in_(allowed))
            .order_by(ConversationTurn.id)
        )
        with self._read() as session:
            return [(turn_data(t), _review(r)) for t, r in session.execute(query).all()]

    # -- feedback -------------------------------------------------------------------------------------------

    def record_feedback(self, turn_id: int, value: int | None, channel: str, *, level: int | None = None,
                        session_id: str | None = None, calendar: WorkCalendar | None = None) -> int:
        """The citizen's 好差评 ``level`` (5 非常满意 … 1 非常不满意), or their 👍 (+1, 满意) or 👎 (-1, 不满意),
        replacing an earlier one; returns the level. A 差评 opens the turn's rectification. With ``session_id``,
        only a turn of that session can be rated: a turn of another session raises LookupError, like a turn that
        does not exist."""
        level = level_of(value, level)
        _check(channel, CHANNELS, "channel")
        now = utcnow()
        with self._write() as session:
            turn = session.get(ConversationTurn, turn_id)
            if turn is None or (session_id is not None and turn.session_id != session_id):
                raise LookupError(f"no conversation turn {turn_id} in this session")
            row = session.scalar(sa.select(Feedback).where(Feedback.turn_id == turn_id))
            earlier = row.level if row is not None else None
            if row is None:
                session.add(Feedback(turn_id=turn_id, value=thumbs_of(level), level=level, channel=channel,
                                     created_at=now))
            else:
                row.value, row.level, row.channel, row.created_at = thumbs_of(level), level, channel, now
            rated(session, turn_id, level, earlier, "citizen", f"citizen:{channel}", now, calendar or self.calendar)
        return level

    def feedback(self, turn_id: int) -> int | None:
        """The citizen's thumbs value: 1 (满意 or better), -1 (差评), 0 (基本满意); None when they did not rate."""
        with self._read() as session:
            return session.scalar(sa.select(Feedback.value).where(Feedback.turn_id == turn_id))

    def feedback_level(self, turn_id: int) -> int | None:
        """The citizen's 好差评 level of a turn, or None."""
        with self._read() as session:
            return session.scalar(sa.select(Feedback.level).where(Feedback.turn_id == turn_id))

    # -- curated answers ------------------------------------------------------------------------------------

    def publish(
        self,
        question: str,
        answer: str,
        sources: Iterable[Source | dict[str, Any]],
        created_by: str,
        *,
        replaces_id: int | None = None,
    ) -> CuratedData:
        """Publish a curated answer. For a question already curated (the same normalised text, or the entry
        ``replaces_id`` names) it is the next version, and the published one before it is withdrawn."""
        question, answer = question.strip(), answer.strip()
        sources = [Source.of(s) for s in sources]
        if not question or not answer:
            raise ValueError("a curated answer needs a question and an answer")
        if len(answer) > MAX_ANSWER_CHARS:
            raise ValueError(f"a curated answer may have at most {MAX_ANSWER_CHARS} characters")
        if not sources or not all(s.doc_id for s in sources):
            raise ValueError("a curated answer needs at least one source document")
        now = utcnow()
        with self._write() as session:
            key = question_key(question)
            if replaces_id is not None:
                replaced = session.get(CuratedAnswer, replaces_id)
                if replaced is None:
                    raise LookupError(f"no curated answer with id {replaces_id}")
                key = replaced.question_key
            versions = list(session.scalars(
                sa.select(CuratedAnswer).where(CuratedAnswer.question_key == key).order_by(CuratedAnswer.version)
            ))
            for old in versions:
                if old.status == "published":
                    old.status, old.withdrawn_at, old.withdrawn_by = "withdrawn", now, created_by
            row = CuratedAnswer(
                question=question, question_key=key, answer=answer, sources=[s.to_dict() for s in sources],
                version=versions[-1].version + 1 if versions else 1, status="published", created_by=created_by,
                created_at=now, replaces_id=versions[-1].id if versions else None,
            )
            session.add(row)
            session.flush()
            published = _curated(row)
        self._changed()  # after the commit
        return published

    @classmethod
    def _changed(cls) -> None:
        cls.local_changes += 1

    def withdraw(self, curated_id: int, actor: str) -> CuratedData:
        with self._write() as session:
            row = session.get(CuratedAnswer, curated_id)
            if row is None:
                raise LookupError(f"no curated answer with id {curated_id}")
            if row.status != "published":
                raise ValueError(f"curated answer {curated_id} is not published")
            row.status, row.withdrawn_at, row.withdrawn_by = "withdrawn", utcnow(), actor
            withdrawn = _curated(row)
        self._changed()
        return withdrawn

    def curated(self, curated_id: int) -> CuratedData | None:
        with self._read() as session:
            row = session.get(CuratedAnswer, curated_id)
            return _curated(row) if row is not None else None

    def curated_list(self, status: str | None = None) -> list[CuratedData]:
        """Newest first."""
        query = sa.select(CuratedAnswer).order_by(CuratedAnswer.id.desc())
        if status:
            query = query.where(CuratedAnswer.status == _check(status, ("published", "withdrawn"), "status"))
        with self._read() as session:
            return [_curated(r) for r in session.scalars(query)]

    def curated_version(self) -> tuple[int, int]:
        """Changes whenever an answer is published or withdrawn (rows are only ever added or withdrawn): one
        cheap query that tells every worker whether its cached copy is stale."""
        with self._read() as session:
            row = session.execute(
                sa.select(
                    sa.func.coalesce(sa.func.max(CuratedAnswer.id), 0),
                    sa.func.count().filter(CuratedAnswer.status == "published"),
                )
            ).one()
        return int(row[0]), int(row[1])

    # -- handed-off messages --------------------------------------------------------------------------------

    def handoffs(self, category: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[TurnData], int]:
        """Messages handed off instead of answered (complaints, reports, suggestions, pleas, local matters),
        newest first, optionally of one category; and how many there are."""
        query = sa.select(ConversationTurn).where(ConversationTurn.handoff.is_not(None))
        if category:
            query = query.where(ConversationTurn.handoff["category"].as_string() == category)
        counted = sa.select(sa.func.count()).select_from(query.subquery())
        query = query.order_by(ConversationTurn.created_at.desc(), ConversationTurn.id.desc()).limit(limit).offset(offset)
        with self._read() as session:
            return [turn_data(t) for t in session.scalars(query)], session.scalar(counted) or 0

    # -- knowledge gaps -------------------------------------------------------------------------------------

    def gap_turns(self, since: datetime | None = None, limit: int = 20000) -> list[GapTurn]:
        """Questions refused for lack of evidence or region (``GAP_REASONS``) and questions rated 👎, newest first."""
        refused = sa.and_(ConversationTurn.status == "refused", ConversationTurn.reason.in_(GAP_REASONS))
        query = (
            sa.select(ConversationTurn, Feedback.value)
            .outerjoin(Feedback, Feedback.turn_id == ConversationTurn.id)
            .where(sa.or_(refused, Feedback.value == -1))
            .order_by(ConversationTurn.created_at.desc(), ConversationTurn.id.desc())
            .limit(limit)
        )
        if since is not None:
            query = query.where(ConversationTurn.created_at >= since)
        with self._read() as session:
            return [
                GapTurn(turn_id=t.id, session_id=t.session_id, question=t.question, status=t.status,
                        reason=t.reason or "", thumbs_down=value == -1, created_at=t.created_at)
                for t, value in session.execute(query).all()
            ]
