"""好差评 in the review store: how the levels add up, the rectification (整改) each 差评 opens, and the turns
staff keep as test cases of the review set.

A turn rated 不满意 or 非常不满意 — by the citizen (``ReviewStore.record_feedback``) or by a reviewer
(``ReviewStore.add_review``) — gets one rectification, due 15 working days after the rating
(``workdays.WorkCalendar``), unassigned until an administrator names its owner. The owner (or an administrator)
writes the measures taken (整改措施: open → rectified), then the 回访 result: 满意 closes it (revisited), 不满意
re-opens it with a new deadline. A later 差评 of a closed one re-opens it too. Every step is an event with who
and when; a rectification still open after its deadline is overdue.

``Ratings`` is a part of ``ReviewStore`` (its methods are the store's); ``rated`` is what a rating does to the
turn's rectification, inside the rating's own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhengwu.db.models import (
    ConversationTurn,
    Feedback,
    Rectification,
    RectificationEvent,
    Review,
    SavedTestCase,
    StaffUser,
    utcnow,
)
from zhengwu.personal import TurnData, turn_data
from zhengwu.review.records import (
    POOR_LEVELS,
    RECTIFICATION_STATES,
    REVISIT_RESULTS,
    SATISFACTION_LEVELS,
    UNASSIGNED,
    RectificationData,
    RectificationFilter,
    RectificationStep,
    TestCaseData,
)
from zhengwu.review.workdays import WorkCalendar, china_today

MAX_TEXT_CHARS = 4000


def _event(session: Session, turn_id: int, action: str, actor: str, at: datetime, **detail: Any) -> None:
    session.add(RectificationEvent(turn_id=turn_id, action=action, actor=actor, at=at, detail=detail))


def rated(session: Session, turn_id: int, level: int, earlier: int | None, source: str, actor: str, now: datetime,
          calendar: WorkCalendar) -> None:
    """What a rating (``level``, replacing this rater's ``earlier`` one) does to the turn's rectification: a
    差评 opens one (or re-opens a closed one); any change of level is on its record."""
    row = session.scalar(sa.select(Rectification).where(Rectification.turn_id == turn_id).with_for_update())
    if row is None:
        if level not in POOR_LEVELS:
            return
        try:
            with session.begin_nested():  # another worker may open it at the same moment: theirs stands
                session.add(Rectification(
                    turn_id=turn_id, level=level, source=source, rated_by=actor, opened_at=now,
                    deadline=calendar.deadline(now), state="open", owner=None, measures="", revisit_note=""))
        except IntegrityError:
            return rated(session, turn_id, level, earlier, source, actor, now, calendar)
        _event(session, turn_id, "opened", actor, now, level=level, source=source,
               deadline=calendar.deadline(now).isoformat())
        return
    if level != earlier:
        _event(session, turn_id, "rated", actor, now, level=level, source=source, earlier=earlier)
    if level in POOR_LEVELS:
        row.level, row.source, row.rated_by = level, source, actor
        if row.state == "revisited":
            _reopen(session, row, actor, now, calendar)


def _reopen(session: Session, row: Rectification, actor: str, now: datetime, calendar: WorkCalendar) -> None:
    row.state, row.deadline = "open", calendar.deadline(now)
    _event(session, row.turn_id, "reopened", actor, now, deadline=row.deadline.isoformat())


def _data(row: Rectification, today: date, turn: ConversationTurn | None = None,
          events: Sequence[RectificationEvent] = ()) -> RectificationData:
    return RectificationData(
        id=row.id, turn_id=row.turn_id, level=row.level, source=row.source, rated_by=row.rated_by,
        opened_at=row.opened_at, deadline=row.deadline, state=row.state, owner=row.owner, measures=row.measures,
        rectified_by=row.rectified_by, rectified_at=row.rectified_at, revisit_result=row.revisit_result,
        revisit_note=row.revisit_note, revisited_by=row.revisited_by, revisited_at=row.revisited_at,
        overdue=row.state == "open" and row.deadline < today, turn=turn_data(turn) if turn is not None else None,
        events=[RectificationStep(e.action, e.actor, e.at, dict(e.detail or {})) for e in events],
    )


def _text(value: str, what: str) -> str:
    value = value.strip()
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"{what} may have at most {MAX_TEXT_CHARS} characters")
    return value


class Ratings:
    """The 好差评 part of ``ReviewStore`` (which provides ``_read``, ``_write`` and ``calendar``)."""

    _read: Any
    _write: Any
    calendar: WorkCalendar

    # -- levels -----------------------------------------------------------------------------------------------

    def level_counts(self) -> dict[str, dict[int, int]]:
        """How many turns have each level: the citizens' ratings, and the reviewers' (each turn's latest)."""
        latest = (sa.select(sa.func.max(Review.id)).where(Review.level.is_not(None)).group_by(Review.turn_id)
                  .scalar_subquery())
        with self._read() as session:
            citizen = dict(session.execute(sa.select(Feedback.level, sa.func.count()).group_by(Feedback.level)).all())
            reviewer = dict(session.execute(
                sa.select(Review.level, sa.func.count()).where(Review.id.in_(latest)).group_by(Review.level)).all())
        return {"citizen": {lv: int(citizen.get(lv, 0)) for lv in SATISFACTION_LEVELS},
                "reviewer": {lv: int(reviewer.get(lv, 0)) for lv in SATISFACTION_LEVELS}}

    def levels(self, turn_ids: Sequence[int] | None = None) -> dict[int, tuple[int | None, int | None]]:
        """Each turn's (citizen level, latest reviewer level), for the turns (default: all) that have either."""
        citizen_query = sa.select(Feedback.turn_id, Feedback.level)
        reviewer_query = sa.select(Review.turn_id, Review.level).where(Review.level.is_not(None)).order_by(Review.id)
        if turn_ids is not None:
            citizen_query = citizen_query.where(Feedback.turn_id.in_(list(turn_ids)))
            reviewer_query = reviewer_query.where(Review.turn_id.in_(list(turn_ids)))
        with self._read() as session:
            citizen = dict(session.execute(citizen_query).all())
            reviewer = dict(session.execute(reviewer_query).all())  # the latest of each turn wins
        return {t: (citizen.get(t), reviewer.get(t)) for t in dict.fromkeys([*citizen, *reviewer])}

    # -- rectifications ---------------------------------------------------------------------------------------

    def rectification(self, rectification_id: int, today: date | None = None) -> RectificationData | None:
        """One rectification with its turn and its events, oldest first."""
        with self._read() as session:
            row = session.get(Rectification, rectification_id)
            if row is None:
                return None
            events = list(session.scalars(sa.select(RectificationEvent).where(
                RectificationEvent.turn_id == row.turn_id).order_by(RectificationEvent.id)))
            return _data(row, today or china_today(), session.get(ConversationTurn, row.turn_id), events)

    def rectification_of(self, turn_id: int) -> RectificationData | None:
        with self._read() as session:
            row_id = session.scalar(sa.select(Rectification.id).where(Rectification.turn_id == turn_id))
        return self.rectification(row_id) if row_id is not None else None

    def rectifications(self, where: RectificationFilter | None = None, limit: int = 50, offset: int = 0,
                       today: date | None = None) -> tuple[list[RectificationData], int]:
        """Rectifications matching the filter, open ones first (earliest deadline first), each with its turn;
        and how many match."""
        where, today = where or RectificationFilter(), today or china_today()
        query = sa.select(Rectification, ConversationTurn).join(
            ConversationTurn, ConversationTurn.id == Rectification.turn_id)
        if where.state:
            query = query.where(Rectification.state == where.state)
        if where.owner == UNASSIGNED:
            query = query.where(Rectification.owner.is_(None))
        elif where.owner:
            query = query.where(Rectification.owner == where.owner)
        if where.overdue:
            query = query.where(Rectification.state == "open", Rectification.deadline < today)
        counted = sa.select(sa.func.count()).select_from(query.subquery())
        order = sa.case({"open": 0, "rectified": 1}, value=Rectification.state, else_=2)
        query = query.order_by(order, Rectification.deadline, Rectification.id).limit(limit).offset(offset)
        with self._read() as session:
            total = session.scalar(counted) or 0
            return [_data(r, today, t) for r, t in session.execute(query).all()], total

    def rectification_counts(self, today: date | None = None) -> dict[str, int]:
        """How many rectifications are in each state, and how many are overdue."""
        today = today or china_today()
        with self._read() as session:
            counts = dict(session.execute(
                sa.select(Rectification.state, sa.func.count()).group_by(Rectification.state)).all())
            overdue = session.scalar(sa.select(sa.func.count()).select_from(Rectification).where(
                Rectification.state == "open", Rectification.deadline < today)) or 0
        return {**{s: int(counts.get(s, 0)) for s in RECTIFICATION_STATES}, "overdue": int(overdue)}

    def _locked(self, session: Session, rectification_id: int, as_owner: str | None) -> Rectification:
        row = session.scalar(sa.select(Rectification).where(Rectification.id == rectification_id).with_for_update())
        if row is None:
            raise LookupError(f"no rectification with id {rectification_id}")
        if as_owner is not None and row.owner != as_owner:
            raise PermissionError(f"rectification {rectification_id} is not assigned to {as_owner}")
        return row

    def assign(self, rectification_id: int, owner: str | None, actor: str) -> RectificationData:
        """Make the staff user ``owner`` (active, any role) responsible, or nobody (None)."""
        now = utcnow()
        with self._write() as session:
            if owner is not None:
                account = session.scalar(sa.select(StaffUser).where(StaffUser.username == owner))
                if account is None or not account.active:
                    raise ValueError(f"no active staff user named {owner!r}")
            row = self._locked(session, rectification_id, None)
            if row.owner != owner:
                _event(session, row.turn_id, "assigned", actor, now, owner=owner, earlier=row.owner)
                row.owner = owner
            return _data(row, china_today())

    def rectify(self, rectification_id: int, measures: str, actor: str, *, as_owner: str | None = None
                ) -> RectificationData:
        """Record the measures taken (整改措施): open → rectified. ``as_owner``: only if it is theirs
        (PermissionError otherwise); None for an administrator."""
        measures = _text(measures, "the measures")
        if not measures:
            raise ValueError("write the measures taken")
        now = utcnow()
        with self._write() as session:
            row = self._locked(session, rectification_id, as_owner)
            if row.state != "open":
                raise ValueError(f"rectification {rectification_id} is {row.state}, not open")
            row.state, row.measures, row.rectified_by, row.rectified_at = "rectified", measures, actor, now
            _event(session, row.turn_id, "rectified", actor, now, measures=measures)
            return _data(row, china_today())

    def revisit(self, rectification_id: int, result: str, note: str, actor: str, *, as_owner: str | None = None,
                calendar: WorkCalendar | None = None) -> RectificationData:
        """Record the 回访 (the citizen's or the reviewer's verdict on the rectified answer): satisfied closes it
        (revisited), unsatisfied re-opens it with a new deadline. Only a rectified one can be revisited."""
        if result not in REVISIT_RESULTS:
            raise ValueError(f"a revisit result is one of {', '.join(REVISIT_RESULTS)}")
        note = _text(note, "the note")
        now = utcnow()
        with self._write() as session:
            row = self._locked(session, rectification_id, as_owner)
            if row.state != "rectified":
                raise ValueError(f"rectification {rectification_id} is {row.state}, not rectified")
            row.revisit_result, row.revisit_note, row.revisited_by, row.revisited_at = result, note, actor, now
            row.state = "revisited"
            _event(session, row.turn_id, "revisited", actor, now, result=result, note=note)
            if result == "unsatisfied":
                _reopen(session, row, actor, now, calendar or self.calendar)
            return _data(row, china_today())

    # -- test cases -------------------------------------------------------------------------------------------

    def add_test_case(self, turn_id: int, actor: str) -> tuple[TestCaseData, bool]:
        """Keep a rated turn as a test case of the review set; a second call keeps the first (False: not new).
        LookupError for no such turn, ValueError for a turn nobody rated or reviewed."""
        for _ in range(2):
            with self._write() as session:
                if session.get(ConversationTurn, turn_id) is None:
                    raise LookupError(f"no conversation turn with id {turn_id}")
                row = session.scalar(sa.select(SavedTestCase).where(SavedTestCase.turn_id == turn_id))
                if row is not None:
                    return _case(row), False
                if not any(session.scalar(sa.select(sa.func.count()).select_from(model).where(
                        model.turn_id == turn_id)) for model in (Feedback, Review)):
                    raise ValueError(f"turn {turn_id} has no rating or review")
                row = SavedTestCase(turn_id=turn_id, created_by=actor, created_at=utcnow())
                try:
                    with session.begin_nested():
                        session.add(row)
                except IntegrityError:  # another request added it just now: read it on the next pass
                    continue
                return _case(row), True
        raise RuntimeError(f"test case of turn {turn_id} neither found nor added")  # pragma: no cover

    def test_case(self, turn_id: int) -> TestCaseData | None:
        with self._read() as session:
            row = session.scalar(sa.select(SavedTestCase).where(SavedTestCase.turn_id == turn_id))
            return _case(row) if row is not None else None

    def test_case_turns(self) -> list[tuple[TurnData, TestCaseData]]:
        """Every test case with its turn, oldest turn first."""
        query = (sa.select(ConversationTurn, SavedTestCase).join(SavedTestCase, SavedTestCase.turn_id ==
                                                                 ConversationTurn.id).order_by(ConversationTurn.id))
        with self._read() as session:
            return [(turn_data(t), _case(c)) for t, c in session.execute(query).all()]


def _case(row: SavedTestCase) -> TestCaseData:
    return TestCaseData(id=row.id, turn_id=row.turn_id, created_by=row.created_by, created_at=row.created_at)
