"""好差评 over HTTP: citizens' five levels through ``POST /api/v1/feedback`` (and the older 👍/👎, and "没用" in chat),
the reviewer's level in the review form, the console's /console/ratings (counts, the 差评 list and its filters),
one rectification's page and its forms (roles, CSRF, owners), and 「加入测试集」 into the review-set export.

Runs on SQLite, and on PostgreSQL too when ZHENGWU_TEST_DATABASE_URL names one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from helpers import app_for, make_assistant

from zhengwu.channels.common import ChannelCore
from zhengwu.personal import PeopleStore
from zhengwu.pii import mask_pii
from zhengwu.review import ReviewStore, WorkCalendar

TOKEN = "staff-token"
PASSWORD = "correct-horse-battery"
MISSED = "失能老人补贴去哪申请？"
PHONE_QUESTION = "我的电话13800138000，弩的运输审批需要什么材料？"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Env:
    client: TestClient
    people: PeopleStore
    store: ReviewStore
    core: ChannelCore


@pytest.fixture
def env(engine, fixture_settings, fixture_index) -> Iterator[Env]:
    # 国庆: the deadline of a rating made in the API follows the service's own holidays.
    settings = fixture_settings.model_copy(update={"rate_limit_per_minute": 0, "admin_token": TOKEN,
                                                   "holidays": [date(2026, 10, d) for d in range(1, 9)]})
    people = PeopleStore(engine, mask=mask_pii)
    assistant = make_assistant(settings, fixture_index, people=people)
    store = ReviewStore(engine)
    store.add_staff("alice", PASSWORD, "admin")
    store.add_staff("bob", PASSWORD, "reviewer")
    store.add_staff("carol", PASSWORD, "reviewer")
    with TestClient(app_for(settings, assistant)) as client:
        yield Env(client, people, store, ChannelCore(assistant, people))


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(env: Env, username: str) -> str:
    """Sign in (ending any earlier session) and return the session's CSRF token."""
    env.client.cookies.clear()
    form = env.client.get("/console/login")
    response = env.client.post("/console/login", data={"username": username, "password": PASSWORD,
                                                       "csrf_token": csrf_of(form.text)}, follow_redirects=False)
    assert response.status_code == 303
    return csrf_of(env.client.get("/console/ratings").text)


def ask(env: Env, question: str = MISSED) -> dict:
    response = env.client.post("/api/v1/chat", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()


def rate(env: Env, answer: dict, **rating) -> object:
    return env.client.post("/api/v1/feedback", json={"turn_id": answer["turn_id"], "session_id": answer["session_id"],
                                                     **rating})


def poorly_rated(env: Env, question: str = MISSED, level: int = 1) -> tuple[dict, int]:
    """A question asked and rated 差评 by the citizen: the answer and its rectification's id."""
    answer = ask(env, question)
    assert rate(env, answer, level=level).status_code == 200
    return answer, env.store.rectification_of(answer["turn_id"]).id


# -- citizens --------------------------------------------------------------------------------------------------------


def test_the_feedback_api_takes_a_level_and_still_the_thumbs(env):
    answer = ask(env, "实验动物生产许可的咨询电话是多少？")
    turn_id = answer["turn_id"]
    ok = rate(env, answer, level=5)
    assert ok.status_code == 200 and ok.json() == {"message": "感谢您的反馈！", "turn_id": turn_id, "value": 1,
                                                   "level": 5}
    assert (env.store.feedback(turn_id), env.store.feedback_level(turn_id)) == (1, 5)
    assert rate(env, answer, level=3).json()["value"] == 0 and env.store.feedback_level(turn_id) == 3
    thumbs = rate(env, answer, value=1)  # the widget of yesterday: 👍 is 满意
    assert thumbs.status_code == 200 and thumbs.json()["level"] == 4
    assert rate(env, answer, value=1, level=5).status_code == 200  # agreeing values are fine
    for bad in ({"level": 6}, {"level": 0}, {"level": "5"}, {"value": 1, "level": 2}, {"value": -1, "level": 3}, {}):
        response = rate(env, answer, **bad)
        assert response.status_code == 422, bad
        assert response.json()["message"] == "请求格式不正确，请检查后重试。"
    assert env.store.feedback_level(turn_id) == 5
    assert env.store.rectification_of(turn_id) is None  # no 差评 so far
    stranger = env.client.post("/api/v1/feedback", json={"turn_id": turn_id, "level": 1, "session_id": "b" * 32})
    assert stranger.status_code == 404 and env.store.feedback_level(turn_id) == 5


def test_a_citizen_poor_rating_opens_a_rectification_due_in_fifteen_working_days(env):
    answer, rectification_id = poorly_rated(env, level=2)
    item = env.store.rectification(rectification_id)
    assert (item.level, item.source, item.state, item.owner) == (2, "citizen", "open", None)
    calendar = WorkCalendar.of(holidays=[date(2026, 10, d) for d in range(1, 9)])
    assert item.deadline == calendar.deadline(item.opened_at)  # the service's holidays, not the defaults
    assert rate(env, answer, level=1).status_code == 200  # a second 差评: the same record
    assert env.store.rectifications()[1] == 1 and env.store.rectification(rectification_id).level == 1


def test_chat_commands_rate_as_satisfied_and_unsatisfied(env):
    answer = env.core.handle_text("telegram", "42", "实验动物生产许可的咨询电话是多少？").answer
    env.core.handle_text("telegram", "42", "有用")
    assert env.store.feedback_level(answer.turn_id) == 4
    env.core.handle_text("telegram", "42", "没用")
    assert env.store.feedback_level(answer.turn_id) == 2
    item = env.store.rectification_of(answer.turn_id)
    assert item.state == "open" and item.rated_by == "citizen:telegram"


# -- the console: who may see and do what ---------------------------------------------------------------------------


def test_strangers_are_sent_to_sign_in_and_posts_need_the_csrf_token(env):
    answer, rectification_id = poorly_rated(env)
    turn_id = answer["turn_id"]
    posts = [(f"/console/ratings/{rectification_id}/owner", {"owner": "bob"}),
             (f"/console/ratings/{rectification_id}/rectify", {"measures": "已更正。"}),
             (f"/console/ratings/{rectification_id}/revisit", {"result": "satisfied"}),
             (f"/console/turns/{turn_id}/test-case", {})]
    for path in ("/console/ratings", f"/console/ratings/{rectification_id}"):
        page = env.client.get(path, follow_redirects=False)
        assert page.status_code == 401 and "登录审核台" in page.text, path
    for path, data in posts:
        assert env.client.post(path, data=data, follow_redirects=False).status_code == 401, path
    sign_in(env, "alice")
    for path, data in posts:
        for token in (None, "forged-token"):
            body = {**data, **({"csrf_token": token} if token else {})}
            response = env.client.post(path, data=body, follow_redirects=False)
            assert response.status_code == 403 and "CSRF" in response.text, (path, token)
    item = env.store.rectification(rectification_id)
    assert (item.owner, item.state, [e.action for e in item.events]) == (None, "open", ["opened"])
    assert env.store.test_case(turn_id) is None


def test_only_an_admin_assigns_and_only_the_owner_or_an_admin_rectifies(env):
    _answer, rectification_id = poorly_rated(env)
    here = f"/console/ratings/{rectification_id}"
    token = sign_in(env, "bob")
    refused = env.client.post(f"{here}/owner", data={"csrf_token": token, "owner": "bob"}, follow_redirects=False)
    assert refused.status_code == 403 and "管理员" in refused.text
    page = env.client.get(here)
    assert "保存负责人" not in page.text and "请管理员先指定负责人" in page.text
    not_theirs = env.client.post(f"{here}/rectify", data={"csrf_token": token, "measures": "已更正。"},
                                 follow_redirects=False)
    assert not_theirs.status_code == 403 and "负责人" in not_theirs.text
    assert env.store.rectification(rectification_id).owner is None

    token = sign_in(env, "alice")
    assert "保存负责人" in env.client.get(here).text
    unknown = env.client.post(f"{here}/owner", data={"csrf_token": token, "owner": "mallory"}, follow_redirects=False)
    assert "error=owner" in unknown.headers["location"]
    assigned = env.client.post(f"{here}/owner", data={"csrf_token": token, "owner": "bob"}, follow_redirects=False)
    assert assigned.status_code == 303 and "msg=assigned" in assigned.headers["location"]
    assert "负责人已更新" in env.client.get(assigned.headers["location"]).text

    token = sign_in(env, "carol")  # another reviewer
    assert env.client.post(f"{here}/rectify", data={"csrf_token": token, "measures": "x"},
                           follow_redirects=False).status_code == 403
    token = sign_in(env, "bob")
    empty = env.client.post(f"{here}/rectify", data={"csrf_token": token, "measures": "  "}, follow_redirects=False)
    assert "error=measures" in empty.headers["location"]
    done = env.client.post(f"{here}/rectify", data={"csrf_token": token, "measures": "补充了申请地点和所需材料。"},
                           follow_redirects=False)
    assert "msg=rectified" in done.headers["location"]
    twice = env.client.post(f"{here}/rectify", data={"csrf_token": token, "measures": "再次整改。"},
                            follow_redirects=False)
    assert "error=state" in twice.headers["location"]
    reopened = env.client.post(f"{here}/revisit", data={"csrf_token": token, "result": "unsatisfied",
                                                        "note": "群众仍不清楚办理地点。"}, follow_redirects=False)
    assert "msg=reopened" in reopened.headers["location"]
    assert env.store.rectification(rectification_id).state == "open"
    env.client.post(f"{here}/rectify", data={"csrf_token": token, "measures": "写明了街道办事处地址。"})
    assert "error=result" in env.client.post(f"{here}/revisit", data={"csrf_token": token, "result": "great"},
                                             follow_redirects=False).headers["location"]
    closed = env.client.post(f"{here}/revisit", data={"csrf_token": token, "result": "satisfied",
                                                      "note": "电话回访，群众满意。"}, follow_redirects=False)
    assert "msg=revisited" in closed.headers["location"]
    page = env.client.get(here).text
    assert "已回访办结" in page and "电话回访，群众满意。" in page and "写明了街道办事处地址。" in page
    item = env.store.rectification(rectification_id)
    assert [(e.action, e.actor) for e in item.events] == [
        ("opened", "citizen:web"), ("assigned", "console:alice"), ("rectified", "console:bob"),
        ("revisited", "console:bob"), ("reopened", "console:bob"), ("rectified", "console:bob"),
        ("revisited", "console:bob")]
    for odd in ("9223372036854775808", "0", "²", "abc"):
        assert env.client.get(f"/console/ratings/{odd}").status_code == 404, odd
        assert env.client.post(f"/console/ratings/{odd}/rectify", data={"csrf_token": token, "measures": "x"},
                               follow_redirects=False).status_code == 404, odd


def test_the_ratings_page_counts_levels_and_filters_by_state_owner_and_overdue(env, engine):
    for question, level in (("实验动物生产许可的咨询电话是多少？", 5), ("居家养老服务补贴每月多少钱？", 3)):
        assert rate(env, ask(env, question), level=level).status_code == 200
    _late, late_id = poorly_rated(env, MISSED, level=1)
    _fresh, fresh_id = poorly_rated(env, "弩的运输审批需要什么材料？", level=2)
    env.store.assign(fresh_id, "bob", "console:alice")
    with engine.begin() as connection:  # the first one's deadline has passed
        connection.execute(sa.text("UPDATE rectifications SET deadline = :day WHERE id = :id"),
                           {"day": date.today() - timedelta(days=3), "id": late_id})
    sign_in(env, "bob")
    page = env.client.get("/console/ratings").text
    for level, expected in ((5, 1), (4, 0), (3, 1), (2, 1), (1, 1)):
        assert f'data-source="citizen" data-level="{level}">{expected}<' in page, level
    assert "好评率 50.0%" in page and "逾期" in page
    assert MISSED in page and "弩的运输审批需要什么材料？" in page

    def listed(**params) -> set[str]:
        text = env.client.get("/console/ratings", params=params).text
        return {q for q in (MISSED, "弩的运输审批需要什么材料？") if q in text}

    assert listed(overdue="1") == {MISSED}
    assert listed(owner="me") == {"弩的运输审批需要什么材料？"} == listed(owner="bob")
    assert listed(owner="-") == {MISSED}
    assert listed(state="rectified") == set()
    assert listed(state="open", overdue="1", owner="bob") == set()
    for odd in ({"state": "<script>"}, {"page": "99999999999"}, {"owner": "x" * 500}):
        assert env.client.get("/console/ratings", params=odd).status_code == 200, odd


# -- reviewers' levels, the pages, test cases --------------------------------------------------------------------------


def test_a_reviewer_level_in_the_review_form_and_the_rectification_page(env):
    answer = ask(env, PHONE_QUESTION)
    turn_id, session = answer["turn_id"], answer["session_id"]
    token = sign_in(env, "bob")
    conversation = env.client.get(f"/console/conversations/{session}").text
    assert "好差评（可选" in conversation and "非常不满意" in conversation
    assert "加入测试集" not in conversation  # nobody rated it yet
    saved = env.client.post(f"/console/turns/{turn_id}/review", data={
        "csrf_token": token, "rating": "partly", "level": "2"}, follow_redirects=False)
    assert "msg=reviewed_poor" in saved.headers["location"]
    conversation = env.client.get(saved.headers["location"]).text
    assert "差评已生成整改单" in conversation and "好差评：不满意" in conversation and "加入测试集" in conversation
    item = env.store.rectification_of(turn_id)
    assert (item.source, item.rated_by, item.level) == ("reviewer", "console:bob", 2)
    assert f'href="/console/ratings/{item.id}"' in conversation
    again = env.client.post(f"/console/turns/{turn_id}/review", data={
        "csrf_token": token, "rating": "partly", "level": "9"}, follow_redirects=False)  # no such level: none
    assert "msg=reviewed" in again.headers["location"] and env.store.conversation(session)[0].reviews[-1].level is None

    page = env.client.get(f"/console/ratings/{item.id}")
    assert page.status_code == 200 and "13800138000" not in page.text and "弩的运输审批需要什么材料" in page.text
    assert "审核员评价" in page.text and "不满意" in page.text and item.deadline.isoformat() in page.text


def test_one_click_makes_one_test_case_in_the_review_set_export(env):
    unrated = ask(env, "居家养老服务补贴每月多少钱？")
    answer, rectification_id = poorly_rated(env, level=2)
    token = sign_in(env, "bob")
    nothing = env.client.post(f"/console/turns/{unrated['turn_id']}/test-case", data={"csrf_token": token},
                              follow_redirects=False)
    assert "error=unrated" in nothing.headers["location"]
    first = env.client.post(f"/console/turns/{answer['turn_id']}/test-case",
                            data={"csrf_token": token, "back": "rectification"}, follow_redirects=False)
    assert first.headers["location"] == f"/console/ratings/{rectification_id}?msg=test_case"
    second = env.client.post(f"/console/turns/{answer['turn_id']}/test-case", data={"csrf_token": token},
                             follow_redirects=False)
    assert second.headers["location"].startswith(f"/console/conversations/{answer['session_id']}?msg=test_case_exists")
    assert "已加入测试集" in env.client.get(f"/console/ratings/{rectification_id}").text
    exported = env.client.get("/console/export/reviewed.jsonl")
    [item] = [json.loads(line) for line in exported.text.splitlines()]
    assert item == {"id": f"review-{answer['turn_id']}", "question": MISSED, "answerable": True,
                    "meta": {"satisfaction": 2, "satisfaction_label": "不满意", "citizen_level": 2,
                             "reviewer_level": None, "turn_id": answer["turn_id"], "status": answer["status"],
                             "test_case": True}}
    assert env.client.get("/console/export/reviewed.jsonl", params={"rating": "wrong"}).text == ""
    assert "测试集" in env.client.get("/console/export").text



def test_the_conversation_list_shows_the_citizens_level(env):
    assert rate(env, ask(env), level=3).status_code == 200
    sign_in(env, "bob")
    listing = env.client.get("/console/conversations")
    assert listing.status_code == 200 and "基本满意" in listing.text
