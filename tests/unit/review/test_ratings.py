"""好差评 in the review store, on every backend (SQLite always, PostgreSQL with ZHENGWU_TEST_DATABASE_URL): the five
levels and the thumbs they replace, the working-day deadline (holidays, make-up working days, China time), the
rectification of a 差评 from open to 回访, overdue ones, test cases and their review-set line, and that erasure and
retention take all of it along."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from zhengwu.config import Settings
from zhengwu.db import alembic_config, make_engine, upgrade
from zhengwu.personal import PeopleStore
from zhengwu.review import (
    SATISFACTION_LABELS,
    SATISFACTION_LEVELS,
    UNASSIGNED,
    RectificationFilter,
    ReviewStore,
    Source,
    WorkCalendar,
    level_of,
    review_items,
    review_jsonl,
    thumbs_of,
)

PASSWORD = "correct-horse-battery"
ELDERLY = "fixture-policy-elderly-care"
# A made-up National Day: 1-8 October off, Sunday 27 September and Saturday 10 October worked instead.
GOLDEN_WEEK = WorkCalendar.of(holidays=[date(2026, 10, d) for d in range(1, 9)],
                              workdays=[date(2026, 9, 27), date(2026, 10, 10)])


@pytest.fixture
def store(engine) -> ReviewStore:
    store = ReviewStore(engine, calendar=WorkCalendar())
    store.add_staff("alice", PASSWORD, "admin")
    store.add_staff("bob", PASSWORD, "reviewer")
    return store


def turn(people: PeopleStore, question: str = "失能老人补贴去哪申请？", status: str = "answered",
         session: str = "a" * 32, user_id: int | None = None, **extra) -> int:
    return people.log_turn(session, user_id, "web", question, "向街道办事处申请。", status, **extra)


def count(engine, table: str) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.text(f"SELECT COUNT(*) FROM {table}"))


# -- the vocabulary ------------------------------------------------------------------------------------------------


def test_five_levels_best_first_and_the_thumbs_they_replace():
    assert SATISFACTION_LEVELS == (5, 4, 3, 2, 1)
    assert [SATISFACTION_LABELS[lv] for lv in SATISFACTION_LEVELS] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert (level_of(1), level_of(-1)) == (4, 2)  # 👍 满意, 👎 不满意
    assert [thumbs_of(lv) for lv in SATISFACTION_LEVELS] == [1, 1, 0, -1, -1]
    assert level_of(level=5) == 5 and level_of(1, level=5) == 5 and level_of(0, level=3) == 3
    for bad in ({"value": 5}, {"value": 0}, {"level": 6}, {"level": 0}, {"level": True}, {"value": 1, "level": 2}):
        with pytest.raises(ValueError):
            level_of(**bad)


# -- working days -----------------------------------------------------------------------------------------------------


def test_the_deadline_is_fifteen_working_days_after_the_rating_in_china_time():
    plain = WorkCalendar()
    assert plain.add_working_days(date(2026, 3, 2), 15) == date(2026, 3, 23)  # Monday: three weeks later
    assert plain.add_working_days(date(2026, 3, 7), 15) == date(2026, 3, 27)  # Saturday: counting starts Monday
    # 23:00 on Thursday in Beijing is still Thursday; 01:00 is Friday, although both are Thursday in UTC.
    assert plain.deadline(datetime(2026, 3, 5, 15, 0, tzinfo=UTC)) == date(2026, 3, 26)
    assert plain.deadline(datetime(2026, 3, 5, 17, 0, tzinfo=UTC)) == date(2026, 3, 27)


def test_holidays_are_skipped_and_make_up_working_days_count():
    assert WorkCalendar().add_working_days(date(2026, 9, 30), 15) == date(2026, 10, 21)
    # 1-8 October skipped; Saturday 10 October counts; so the 15th working day is Wednesday 28 October.
    assert GOLDEN_WEEK.add_working_days(date(2026, 9, 30), 15) == date(2026, 10, 28)
    assert GOLDEN_WEEK.is_working_day(date(2026, 9, 27)) and not GOLDEN_WEEK.is_working_day(date(2026, 10, 1))
    assert GOLDEN_WEEK.add_working_days(date(2026, 9, 26), 1) == date(2026, 9, 27)  # a worked Sunday
    with pytest.raises(ValueError, match="ZHENGWU_HOLIDAYS"):
        WorkCalendar.of(holidays=[date(2026, 1, 1) + timedelta(days=n) for n in range(4000)]).add_working_days(
            date(2025, 12, 31), 1)


def test_holidays_and_workdays_come_from_comma_separated_settings(monkeypatch):
    monkeypatch.setenv("ZHENGWU_HOLIDAYS", "2026-10-01, 2026-10-02,2026-10-05")
    monkeypatch.setenv("ZHENGWU_WORKDAYS", "2026-10-10")
    calendar = WorkCalendar.from_settings(Settings())
    assert calendar.holidays == {date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5)}
    assert calendar.workdays == {date(2026, 10, 10)}
    monkeypatch.setenv("ZHENGWU_HOLIDAYS", "")
    assert Settings().holidays == []
    monkeypatch.setenv("ZHENGWU_HOLIDAYS", "2026-10-32")
    with pytest.raises(ValueError):
        Settings()


# -- ratings and the rectification they open ----------------------------------------------------------------------------


def test_citizen_levels_keep_the_thumbs_value_and_only_a_poor_one_opens_a_rectification(people, store):
    liked, fair = turn(people, "弩的运输审批要多久？"), turn(people, "居住证在哪里办？")
    assert store.record_feedback(liked, 1, "web") == 4  # 👍 is 满意
    assert (store.feedback(liked), store.feedback_level(liked)) == (1, 4)
    assert store.record_feedback(fair, None, "wechat", level=3) == 3
    assert (store.feedback(fair), store.feedback_level(fair)) == (0, 3)
    store.record_feedback(liked, None, "web", level=5)
    assert store.feedback_level(liked) == 5
    with pytest.raises(ValueError):
        store.record_feedback(liked, None, "web", level=9)
    assert store.rectifications() == ([], 0)
    assert store.level_counts()["citizen"] == {5: 1, 4: 0, 3: 1, 2: 0, 1: 0}


def test_a_poor_rating_opens_one_rectification_tracked_to_its_revisit(engine, people, store):
    turn_id = turn(people)
    store.record_feedback(turn_id, -1, "web", session_id="a" * 32)  # 👎 is 不满意: a 差评
    [opened], total = store.rectifications()
    assert total == 1 and (opened.turn_id, opened.level, opened.source, opened.state) == (turn_id, 2, "citizen", "open")
    assert opened.owner is None and opened.rated_by == "citizen:web"
    assert opened.deadline == WorkCalendar().deadline(opened.opened_at)
    assert opened.turn.question == "失能老人补贴去哪申请？"

    # A reviewer's 非常不满意 on the same turn: still one record, now at the lower level.
    review = store.add_review(turn_id, "console:bob", "wrong", level=1)
    assert review.level == 1
    assert count(engine, "rectifications") == 1
    assert store.rectification(opened.id).level == 1 and store.rectification(opened.id).source == "reviewer"

    with pytest.raises(ValueError, match="active staff"):
        store.assign(opened.id, "nobody", "console:alice")
    store.assign(opened.id, "bob", "console:alice")
    with pytest.raises(PermissionError):
        store.rectify(opened.id, "补充了申请地点。", "console:carol", as_owner="carol")
    with pytest.raises(ValueError, match="not rectified"):
        store.revisit(opened.id, "satisfied", "", "console:bob", as_owner="bob")
    with pytest.raises(ValueError, match="measures"):
        store.rectify(opened.id, "   ", "console:bob", as_owner="bob")
    done = store.rectify(opened.id, "补充了申请地点和办理时限。", "console:bob", as_owner="bob")
    assert (done.state, done.measures, done.rectified_by) == ("rectified", "补充了申请地点和办理时限。", "console:bob")
    with pytest.raises(ValueError, match="not open"):
        store.rectify(opened.id, "again", "console:bob", as_owner="bob")

    # 回访 不满意 re-opens it with a new deadline; the second 整改 is accepted, and 满意 closes it.
    again = store.revisit(opened.id, "unsatisfied", "群众表示仍不清楚材料。", "console:bob", as_owner="bob",
                          calendar=GOLDEN_WEEK)
    assert again.state == "open" and again.revisit_result == "unsatisfied"
    assert again.deadline == GOLDEN_WEEK.deadline(again.revisited_at)
    store.rectify(opened.id, "列出全部申请材料。", "console:alice")  # an administrator may act on any
    closed = store.revisit(opened.id, "satisfied", "电话回访，群众满意。", "console:bob", as_owner="bob")
    assert (closed.state, closed.revisit_note, closed.revisited_by) == ("revisited", "电话回访，群众满意。", "console:bob")

    # The citizen rates it poorly again later: the closed one opens again.
    store.record_feedback(turn_id, None, "web", level=1)
    final = store.rectification(opened.id)
    assert final.state == "open"
    steps = [(e.action, e.actor) for e in final.events]
    assert steps == [
        ("opened", "citizen:web"), ("rated", "console:bob"), ("assigned", "console:alice"),
        ("rectified", "console:bob"), ("revisited", "console:bob"), ("reopened", "console:bob"),
        ("rectified", "console:alice"), ("revisited", "console:bob"), ("rated", "citizen:web"),
        ("reopened", "citizen:web"),
    ]
    assert final.events[0].detail == {"level": 2, "source": "citizen", "deadline": opened.deadline.isoformat()}
    assert final.events[2].detail == {"owner": "bob", "earlier": None}
    assert all(e.at.tzinfo is not None for e in final.events)
    assert store.rectification_of(turn_id).id == opened.id and store.rectification(10**6) is None


def test_a_reviewer_poor_level_alone_opens_one_and_a_good_level_does_not(people, store):
    good, poor = turn(people, "弩的运输审批要多久？"), turn(people)
    store.add_review(good, "console:bob", "correct", level=5)
    store.add_review(poor, "console:bob", "partly", level=2)
    store.add_review(poor, "console:bob", "partly", level=2)  # the same level again: no new step
    [only], _ = store.rectifications()
    assert (only.turn_id, only.source, only.rated_by) == (poor, "reviewer", "console:bob")
    assert [e.action for e in store.rectification(only.id).events] == ["opened"]
    assert store.level_counts()["reviewer"] == {5: 1, 4: 0, 3: 0, 2: 1, 1: 0}
    with pytest.raises(ValueError):
        store.add_review(good, "console:bob", "correct", level=7)


def test_filters_by_state_owner_and_overdue(people, store):
    first, second, third = (turn(people, f"问题{n}？") for n in range(3))
    for turn_id in (first, second, third):
        store.record_feedback(turn_id, -1, "web")
    ids = {r.turn_id: r.id for r in store.rectifications()[0]}
    store.assign(ids[first], "bob", "console:alice")
    store.assign(ids[second], "alice", "console:alice")
    store.rectify(ids[second], "已更正。", "console:alice")
    deadline = store.rectification(ids[first]).deadline

    def turns(today=None, **where) -> list[int]:
        return [r.turn_id for r in store.rectifications(RectificationFilter(**where), today=today)[0]]

    assert turns(owner="bob") == [first] and turns(owner=UNASSIGNED) == [third]
    assert turns(state="rectified") == [second] and sorted(turns(state="open")) == sorted([first, third])
    assert turns(deadline, overdue=True) == []  # due by the end of that day
    assert sorted(turns(deadline + timedelta(days=1), overdue=True)) == sorted([first, third])  # not the rectified
    assert turns(deadline + timedelta(days=1), overdue=True, owner="bob") == [first]
    late = store.rectification(ids[first], today=deadline + timedelta(days=1))
    assert late.overdue and not store.rectification(ids[second], today=deadline + timedelta(days=1)).overdue
    assert store.rectification_counts(deadline + timedelta(days=1)) == {
        "open": 2, "rectified": 1, "revisited": 0, "overdue": 2}
    store.assign(ids[first], None, "console:alice")  # back to nobody
    assert sorted(turns(owner=UNASSIGNED)) == sorted([first, third])


# -- test cases and the review set ---------------------------------------------------------------------------------------


def test_a_rated_turn_becomes_one_test_case_however_often_it_is_added(engine, people, store):
    unrated = turn(people, "没人评价的问题")
    with pytest.raises(ValueError, match="no rating"):
        store.add_test_case(unrated, "console:bob")
    with pytest.raises(LookupError):
        store.add_test_case(10**6, "console:bob")
    store.record_feedback(unrated, -1, "web")
    case, created = store.add_test_case(unrated, "console:bob")
    again, created_again = store.add_test_case(unrated, "console:alice")
    assert created and not created_again and again == case and case.created_by == "console:bob"
    assert count(engine, "test_cases") == 1 and store.test_case(unrated) == case
    assert [t.id for t, _ in store.test_case_turns()] == [unrated]
    [summary] = store.conversation("a" * 32)
    assert summary.test_case and summary.level == 2 and summary.rectification_id is not None


def test_test_cases_are_exported_in_the_question_file_format_even_without_a_review(people, store):
    cited = [{"n": 1, "doc_id": ELDERLY, "title": "补贴办法", "section": "申请方式", "source_url": ""}]
    poor = turn(people, "失能老人补贴去哪申请？")
    liked = turn(people, "居家养老补贴怎么申请？", citations=cited)
    refused_ok = turn(people, "帮我写一首诗", status="refused")
    reviewed = turn(people, "弩的运输审批要多久？")
    not_a_case = turn(people, "别的问题")
    store.record_feedback(poor, -1, "web")
    store.record_feedback(liked, None, "web", level=5)
    store.record_feedback(refused_ok, None, "web", level=3)
    store.record_feedback(not_a_case, 1, "web")
    store.add_review(reviewed, "console:bob", "wrong", ["retrieval_miss"], corrected_answer="二十个工作日。",
                     sources=[Source("gd-nu", "弩的运输审批")], level=2)
    for turn_id in (poor, liked, refused_ok, reviewed):
        store.add_test_case(turn_id, "console:bob")

    items = review_items(store)
    assert [i["meta"]["turn_id"] for i in items] == [poor, liked, refused_ok, reviewed]  # not_a_case: no review
    by_turn = {i["meta"]["turn_id"]: i for i in items}
    assert by_turn[poor] == {
        "id": f"review-{poor}", "question": "失能老人补贴去哪申请？", "answerable": True,
        "meta": {"satisfaction": 2, "satisfaction_label": "不满意", "citizen_level": 2, "reviewer_level": None,
                 "turn_id": poor, "status": "answered", "test_case": True},
    }
    assert by_turn[liked]["gold_doc_ids"] == [ELDERLY] and by_turn[liked]["gold_answer"] == "向街道办事处申请。"
    assert by_turn[refused_ok]["answerable"] is False and "gold_answer" not in by_turn[refused_ok]
    assert by_turn[reviewed]["gold_answer"] == "二十个工作日。" and by_turn[reviewed]["gold_doc_ids"] == ["gd-nu"]
    assert by_turn[reviewed]["meta"] == {
        "rating": "wrong", "reasons": ["retrieval_miss"], "turn_id": reviewed, "satisfaction": 2,
        "satisfaction_label": "不满意", "citizen_level": None, "reviewer_level": 2, "test_case": True}
    lines = review_jsonl(items).splitlines()
    assert len(lines) == 4 and json.loads(lines[0]) == by_turn[poor] and "不满意" in lines[0]
    # With a rating filter only reviewed turns qualify.
    assert [i["meta"]["turn_id"] for i in review_items(store, rating="wrong")] == [reviewed]


# -- storage -----------------------------------------------------------------------------------------------------------


def test_purging_or_erasing_turns_takes_their_ratings_rectifications_and_test_cases(engine, people, store):
    user_id = people.user_for("web", "u" * 32)
    theirs = turn(people, session="u" * 32, user_id=user_id)
    old = turn(people, "旧问题", session="o" * 32)
    for turn_id in (theirs, old):
        store.record_feedback(turn_id, -1, "web")
        store.add_test_case(turn_id, "console:bob")
    assert (count(engine, "rectifications"), count(engine, "test_cases")) == (2, 2)
    people.delete(user_id, actor="clerk:li")
    tables = ("feedback", "rectifications", "rectification_events", "test_cases")
    assert [count(engine, t) for t in tables] == [1, 1, 1, 1]
    people.purge_turns(datetime.now(UTC) + timedelta(seconds=1))
    assert [count(engine, t) for t in tables] == [0, 0, 0, 0]


def test_the_migration_turns_earlier_thumbs_into_levels(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    with engine.begin() as connection:
        for n in (1, 2):
            connection.execute(sa.text(
                "INSERT INTO conversation_turns (id, session_id, channel, question, answer, status, created_at) "
                "VALUES (:id, 's', 'web', 'q', 'a', 'answered', '2026-01-01 00:00:00')"), {"id": n})
        connection.execute(sa.text("INSERT INTO feedback (turn_id, value, channel, created_at) VALUES "
                                   "(1, 1, 'web', '2026-01-01 00:00:00'), (2, -1, 'web', '2026-01-01 00:00:00')"))
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT turn_id, level FROM feedback ORDER BY turn_id")).all() == [
            (1, 4), (2, 2)]
    engine.dispose()
