"""The review tables on every backend (SQLite always, PostgreSQL with ZHENGWU_TEST_DATABASE_URL): staff accounts,
reviews, feedback, curated answers with versions, the turn search of the console, knowledge-gap input and
review-set export; and what a turn now records about its answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from zhengwu.config import Settings
from zhengwu.personal import PeopleStore
from zhengwu.review import ReviewStore
from zhengwu.review.export import export_reviewed, review_item
from zhengwu.review.passwords import hash_password, password_problem, verify_password
from zhengwu.review.records import Source, TurnFilter, compact_question, question_key

PASSWORD = "correct-horse-battery"
ELDERLY = "fixture-policy-elderly-care"


@pytest.fixture
def store(engine) -> ReviewStore:
    return ReviewStore(engine)


def turn(people: PeopleStore, question: str = "失能老人补贴去哪申请？", status: str = "answered", session: str = "a" * 32,
         **extra) -> int:
    return people.log_turn(session, None, "web", question, "回答", status, **extra)


# -- passwords and staff ----------------------------------------------------------------------------------------


def test_passwords_are_salted_scrypt_hashes():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("scrypt$16384$8$1$") and first != second  # a fresh salt each time
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + "x", first)
    assert not verify_password(PASSWORD, "scrypt$garbage") and not verify_password(PASSWORD, "")
    assert password_problem("short") and password_problem("aaaaaaaaaaaa") and password_problem(PASSWORD) is None


def test_staff_accounts(engine, store):
    alice = store.add_staff("alice", PASSWORD, "admin")
    assert alice.role == "admin" and alice.active and alice.created_at.tzinfo is not None
    store.add_staff("bob.li", PASSWORD, "reviewer")
    with pytest.raises(ValueError, match="already exists"):
        store.add_staff("alice", PASSWORD, "reviewer")
    with pytest.raises(ValueError, match="role"):
        store.add_staff("carol", PASSWORD, "superuser")
    with pytest.raises(ValueError, match="user name"):
        store.add_staff("<script>", PASSWORD, "reviewer")
    with pytest.raises(ValueError, match="10 characters"):
        store.add_staff("carol", "short", "reviewer")
    with engine.connect() as connection:
        assert PASSWORD not in repr(connection.execute(sa.text("SELECT * FROM staff_users")).all())

    assert store.authenticate("alice", PASSWORD).username == "alice"
    assert store.authenticate("alice", "wrong password!") is None
    assert store.authenticate("nobody", PASSWORD) is None
    assert [s.username for s in store.list_staff()] == ["alice", "bob.li"]

    store.set_password("bob.li", "another-password-1")
    assert store.authenticate("bob.li", PASSWORD) is None and store.authenticate("bob.li", "another-password-1")
    store.set_active("bob.li", False)
    assert store.authenticate("bob.li", "another-password-1") is None  # disabled
    assert store.set_role("bob.li", "admin").role == "admin"  # an administrator, but disabled

    with pytest.raises(ValueError, match="last active administrator"):
        store.set_active("alice", False)
    with pytest.raises(ValueError, match="last active administrator"):
        store.set_role("alice", "reviewer")
    store.set_active("bob.li", True)
    assert store.set_role("alice", "reviewer").role == "reviewer"  # bob is another active administrator now
    with pytest.raises(LookupError):
        store.set_active("nobody", True)


# -- turns, reviews, feedback -----------------------------------------------------------------------------------


def test_a_turn_records_how_its_answer_came_about(people, store):
    turn_id = turn(people, citations=[{"n": 1, "doc_id": ELDERLY, "title": "补贴办法", "section": "申请方式",
                                       "source_url": "https://example.invalid/x", "snippet": "不存"}],
                   retrieved=[ELDERLY, "doc-2"], path="composer", reason="", latency_ms=12.5)
    old_style = people.log_turn("b" * 32, None, "web", "电话呢？", "回答", "answered")  # old callers still work
    recorded = store.turn(turn_id)
    assert recorded.citations == [{"n": 1, "doc_id": ELDERLY, "title": "补贴办法", "section": "申请方式",
                                   "source_url": "https://example.invalid/x"}]  # no snippet: the index has it
    assert recorded.retrieved == [ELDERLY, "doc-2"] and recorded.path == "composer" and recorded.latency_ms == 12.5
    plain = store.turn(old_style)
    assert (plain.citations, plain.retrieved, plain.path, plain.reason, plain.latency_ms) == ([], [], "", "", None)
    assert store.turn(10**6) is None


def test_reviews_keep_their_history_and_the_latest_counts(people, store):
    turn_id = turn(people)
    first = store.add_review(turn_id, "console:bob", "partly", ["wording"])
    second = store.add_review(
        turn_id, "console:alice", "wrong", ["retrieval_miss", "retrieval_miss", "other"],
        corrected_answer="  向户籍所在地街道办事处申请。 ", sources=[Source(ELDERLY, "补贴办法", "申请方式")],
        must_contain=["街道办事处", " "],
    )
    assert second.reasons == ["retrieval_miss", "other"] and second.corrected_answer == "向户籍所在地街道办事处申请。"
    assert second.sources == [Source(ELDERLY, "补贴办法", "申请方式")] and second.must_contain == ["街道办事处"]
    [summary] = store.conversation("a" * 32)
    assert [r.id for r in summary.reviews] == [first.id, second.id] and summary.rating == "wrong"
    with pytest.raises(ValueError, match="rating"):
        store.add_review(turn_id, "x", "great")
    with pytest.raises(ValueError, match="reason"):
        store.add_review(turn_id, "x", "wrong", ["typo"])
    with pytest.raises(LookupError):
        store.add_review(10**6, "x", "wrong")


def test_feedback_is_one_per_turn_and_only_from_its_session(people, store):
    turn_id = turn(people)
    store.record_feedback(turn_id, 1, "web", session_id="a" * 32)
    store.record_feedback(turn_id, -1, "telegram")  # a later rating replaces the first
    assert store.feedback(turn_id) == -1
    with pytest.raises(LookupError):
        store.record_feedback(turn_id, 1, "web", session_id="b" * 32)  # another session
    with pytest.raises(LookupError):
        store.record_feedback(10**6, 1, "web")
    with pytest.raises(ValueError):
        store.record_feedback(turn_id, 5, "web")
    assert store.feedback(turn_id) == -1


def test_turn_search_filters(engine, people, store):
    old = turn(people, "居住证在哪里办理？", session="1" * 32)
    refused = turn(people, "量子计算机的纠错码原理是什么？", "refused", session="2" * 32, reason="weak_evidence")
    liked = turn(people, "弩的运输审批在哪里办理？", session="3" * 32)
    percent = turn(people, "100%_报销吗？", session="4" * 32)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE conversation_turns SET created_at = :at WHERE id = :id"),
                           {"at": datetime.now(UTC) - timedelta(days=10), "id": old})
    store.add_review(refused, "x", "should_refuse")
    store.record_feedback(liked, 1, "web")

    def ids(**where) -> list[int]:
        rows, total = store.search_turns(TurnFilter(**where))
        assert total == len(rows)
        return [r.turn.id for r in rows]

    assert ids() == [percent, liked, refused, old]  # newest first
    assert ids(text="办理") == [liked, old]
    assert ids(text="%_") == [percent]  # LIKE wildcards are matched literally
    assert ids(status="refused") == [refused]
    assert ids(rating="should_refuse") == [refused]
    assert ids(rating="unrated") == [percent, liked, old]
    assert ids(feedback=1) == [liked] and ids(feedback=-1) == []
    today = datetime.now(UTC).date()
    assert ids(since=today - timedelta(days=1)) == [percent, liked, refused]
    assert ids(until=today - timedelta(days=5)) == [old]
    rows, total = store.search_turns(TurnFilter(), limit=2, offset=2)
    assert [r.turn.id for r in rows] == [refused, old] and total == 4
    assert rows[0].rating == "should_refuse"


def test_purging_turns_takes_their_reviews_and_feedback(engine, people, store):
    turn_id = turn(people)
    store.add_review(turn_id, "x", "wrong")
    store.record_feedback(turn_id, -1, "web")
    assert people.purge_turns(datetime.now(UTC) + timedelta(seconds=1)) == 1
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT COUNT(*) FROM reviews")) == 0
        assert connection.scalar(sa.text("SELECT COUNT(*) FROM feedback")) == 0


def test_gap_turns_are_evidence_refusals_and_thumbs_down(people, store):
    weak = turn(people, "老人护理补贴怎么领？", "refused", reason="weak_evidence")
    region = turn(people, "上海市居住证在哪办？", "refused", reason="out_of_region")
    turn(people, "帮我写一首诗", "refused", reason="out_of_scope")  # chit-chat: no gap in the knowledge base
    disliked = turn(people, "弩的运输审批要多久？")
    liked = turn(people, "实验动物生产许可电话？")
    store.record_feedback(disliked, -1, "web")
    store.record_feedback(liked, 1, "web")
    gaps = store.gap_turns()
    assert [g.turn_id for g in gaps] == [disliked, region, weak]
    assert gaps[0].thumbs_down and not gaps[1].thumbs_down and gaps[2].reason == "weak_evidence"


# -- curated answers --------------------------------------------------------------------------------------------


def test_curated_answers_are_versioned(store):
    source = [Source(ELDERLY, "补贴办法", "申请方式")]
    start = store.curated_version()
    v1 = store.publish("失能老人补贴去哪申请？", "向街道办事处申请。", source, "console:alice")
    assert (v1.version, v1.status, v1.replaces_id) == (1, "published", None)
    assert store.curated_version() != start
    # the same question, differently typed: version 2, and version 1 is withdrawn
    v2 = store.publish(" 失能老人补贴 去哪申请 ", "向户籍所在地街道办事处申请，十个工作日内审核。", source, "console:bob")
    assert (v2.version, v2.replaces_id, v2.question_key) == (2, v1.id, v1.question_key)
    old = store.curated(v1.id)
    assert old.status == "withdrawn" and old.withdrawn_by == "console:bob" and old.withdrawn_at is not None
    assert [c.id for c in store.curated_list(status="published")] == [v2.id]

    other = store.publish("居住证在哪办理？", "答案", source, "console:alice")
    assert other.version == 1
    renamed = store.publish("居住证去哪里办？", "新答案", source, "console:alice", replaces_id=other.id)
    assert renamed.version == 2 and renamed.question_key == other.question_key  # a rewording of the same entry

    before = store.curated_version()
    withdrawn = store.withdraw(v2.id, "console:alice")
    assert withdrawn.status == "withdrawn" and store.curated_version() != before
    with pytest.raises(ValueError, match="not published"):
        store.withdraw(v2.id, "console:alice")
    with pytest.raises(LookupError):
        store.withdraw(10**6, "x")
    v3 = store.publish("失能老人补贴去哪申请", "再次发布。", source, "console:alice")
    assert v3.version == 3  # numbering continues after a withdrawal

    with pytest.raises(ValueError, match="source"):
        store.publish("问题", "答案", [], "x")
    with pytest.raises(ValueError, match="question and an answer"):
        store.publish(" ", "答案", source, "x")
    assert [c.version for c in store.curated_list()] == [3, 2, 1, 2, 1]  # newest first


def test_question_keys_ignore_punctuation_width_script_and_case():
    assert compact_question("居住证 在哪办理？") == compact_question("居住證在哪辦理?") == "居住证在哪办理"
    assert question_key("ＡＢＣ办理？") == question_key("abc办理")
    assert question_key("居住证在哪办理") != question_key("居住证要什么材料")


# -- review sets ------------------------------------------------------------------------------------------------


def test_review_items_follow_the_question_file_format(people, store):
    correct = turn(people, "弩的运输审批要多久？")
    wrong = turn(people, "失能老人补贴去哪申请？")
    refuse = turn(people, "帮我查张三的住址")
    unreviewed = turn(people, "没人看过的问题")
    store.add_review(correct, "x", "correct", sources=[Source("gd-nu", "弩的运输审批")])
    store.add_review(wrong, "x", "partly")
    store.add_review(wrong, "x", "wrong", ["retrieval_miss"], corrected_answer="向街道办事处申请。",
                     sources=[Source(ELDERLY, "补贴办法", "申请方式"), Source(ELDERLY, "补贴办法", "补贴对象")],
                     must_contain=["街道办事处"])
    store.add_review(refuse, "x", "should_refuse", ["other"])
    items = {i["meta"]["turn_id"]: i for i in (review_item(t, r) for t, r in store.reviewed())}
    assert unreviewed not in items
    assert items[wrong] == {
        "id": f"review-{wrong}", "question": "失能老人补贴去哪申请？", "answerable": True,
        "gold_doc_ids": [ELDERLY], "must_contain": ["街道办事处"], "gold_answer": "向街道办事处申请。",
        "meta": {"rating": "wrong", "reasons": ["retrieval_miss"], "turn_id": wrong},
    }
    assert items[correct]["gold_answer"] == "回答"  # rated correct as it stood: the answer itself is gold
    assert items[refuse] == {"id": f"review-{refuse}", "question": "帮我查张三的住址", "answerable": False,
                             "meta": {"rating": "should_refuse", "reasons": ["other"], "turn_id": refuse}}
    assert [t.id for t, _ in store.reviewed("partly")] == [correct]
    assert [t.id for t, _ in store.reviewed("wrong")] == [correct, wrong, refuse]
    assert [t.id for t, _ in store.reviewed(rating="wrong")] == [wrong]  # the latest review counts, not "partly"
    with pytest.raises(ValueError):
        store.reviewed("excellent")


def test_export_reviewed_writes_a_question_file(engine, people, store, tmp_path):
    wrong = turn(people, "失能老人补贴去哪申请？")
    store.add_review(wrong, "x", "wrong", ["retrieval_miss"], corrected_answer="向街道办事处申请。",
                     sources=[Source(ELDERLY, "补贴办法", "申请方式")])
    settings = Settings(data_dir=tmp_path / "data", database_url=engine.url.render_as_string(hide_password=False))
    out = tmp_path / "sets" / "reviewed.jsonl"
    assert export_reviewed(settings, out) == 1
    [line] = out.read_text(encoding="utf-8").splitlines()
    item = json.loads(line)
    assert item["question"] == "失能老人补贴去哪申请？" and item["gold_doc_ids"] == [ELDERLY]
    assert "失能" in line  # UTF-8, not \\u escapes
    assert export_reviewed(settings, out, rating="wrong") == 1
    assert export_reviewed(settings, out, min_rating="correct") == 0 and out.read_text() == ""


def test_a_nul_character_is_stored_and_searched_for_on_every_backend(people, store):
    """PostgreSQL text cannot hold U+0000: a NUL typed into a question, the console's search box or a URL was a
    500 there (issue 15 fuzzing). It is kept as U+FFFD on PostgreSQL and as it is on SQLite."""
    marked = turn(people, "居住证\x00在哪里办理？", session="9" * 32)
    rows, total = store.search_turns(TurnFilter(text="\x00"))
    assert total == len(rows) <= 1
    assert store.conversation("\x00" * 32) == []
    assert store.turn(marked) is not None
    assert store.turn(marked).question.replace("\ufffd", "\x00") == "居住证\x00在哪里办理？"
