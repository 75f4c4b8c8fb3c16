"""The review console over HTTP: sign-in, roles, CSRF, throttling, the pages and forms staff use, audit of what
they open, knowledge gaps and exports; and the citizens' side of the loop: 👍/👎 through the API and in chat.

Runs on SQLite, and on PostgreSQL too when ZHENGWU_TEST_DATABASE_URL names one.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from helpers import app_for, make_assistant

from zhengwu.answering import wording
from zhengwu.answering.assistant import Assistant
from zhengwu.answering.wording import NOTHING_TO_RATE, THANKS_UP
from zhengwu.channels.common import ChannelCore
from zhengwu.personal import PeopleStore
from zhengwu.pii import mask_pii
from zhengwu.review import ReviewStore, Source
from zhengwu.web.console.throttle import (
    ACCOUNT_MAX_FAILURES,
    MAX_FAILURES,
    DbThrottle,
    MemoryThrottle,
    RedisThrottle,
    account_key,
    client_key,
)

THANKS_DOWN = wording.say(wording.THANKS_DOWN, "12345")
REDIS_URL = os.environ.get("ZHENGWU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

TOKEN = "staff-token"
PASSWORD = "correct-horse-battery"
ELDERLY = "fixture-policy-elderly-care"
MISSED = "失能老人补贴去哪申请？"
CORRECTED = "失能老人可申请居家养老服务补贴：向户籍所在地街道办事处提出申请。"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Env:
    client: TestClient
    people: PeopleStore
    store: ReviewStore
    assistant: Assistant


def make_env(engine, fixture_settings, fixture_index, *, staff: bool = True, **overrides) -> Iterator[Env]:
    settings = fixture_settings.model_copy(update={"rate_limit_per_minute": 0, "admin_token": TOKEN, **overrides})
    people = PeopleStore(engine, mask=mask_pii)
    assistant = make_assistant(settings, fixture_index, people=people)
    store = ReviewStore(engine)
    if staff:  # a second worker of the same deployment finds the accounts in the database
        store.add_staff("alice", PASSWORD, "admin")
        store.add_staff("bob", PASSWORD, "reviewer")
    with TestClient(app_for(settings, assistant)) as client:
        yield Env(client, people, store, assistant)


@pytest.fixture
def env(engine, fixture_settings, fixture_index) -> Iterator[Env]:
    yield from make_env(engine, fixture_settings, fixture_index)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD, next_url: str = "/console/conversations"):
    form = client.get("/console/login")
    assert form.status_code == 200
    return client.post("/console/login", data={"username": username, "password": password, "next": next_url,
                                               "csrf_token": csrf_of(form.text)}, follow_redirects=False)


def signed_in(env: Env, username: str) -> str:
    """Sign in and return the session's CSRF token."""
    assert login(env.client, username).status_code == 303
    return csrf_of(env.client.get("/console/conversations").text)


def ask(client: TestClient, question: str, **extra) -> dict:
    response = client.post("/api/v1/chat", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    return response.json()


# -- signing in -------------------------------------------------------------------------------------------------


def test_password_login_sets_a_strict_httponly_cookie_and_logout_ends_it(env):
    page = env.client.get("/console/conversations")
    assert page.status_code == 401 and "登录审核台" in page.text  # the sign-in form, in place
    response = login(env.client, "bob", next_url="/console/gaps")
    assert response.status_code == 303 and response.headers["location"] == "/console/gaps"
    cookie = response.headers["set-cookie"]
    assert "zhengwu_console=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/console" in cookie
    page = env.client.get("/console/conversations")
    assert page.status_code == 200 and "对话记录" in page.text and "bob" in page.text
    assert page.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in page.headers[
        "content-security-policy"]
    assert env.client.post("/console/logout", data={"csrf_token": csrf_of(page.text)},
                           follow_redirects=False).status_code == 303
    assert env.client.get("/console/conversations").status_code == 401


def test_wrong_passwords_and_unsafe_next_urls(env):
    response = login(env.client, "bob", "not-the-password")
    assert response.status_code == 401 and "用户名或密码错误" in response.text
    assert login(env.client, "nobody").status_code == 401
    response = login(env.client, "bob", next_url="https://evil.example/steal")
    assert response.headers["location"] == "/console/conversations"
    env.client.cookies.clear()
    response = login(env.client, "bob", next_url="//evil.example")
    assert response.headers["location"] == "/console/conversations"


def test_login_needs_its_own_csrf_token(env):
    env.client.get("/console/login")
    response = env.client.post("/console/login", data={"username": "bob", "password": PASSWORD})
    assert response.status_code == 403
    response = env.client.post("/console/login", data={"username": "bob", "password": PASSWORD,
                                                       "csrf_token": "forged"})
    assert response.status_code == 403 and "zhengwu_console=" not in response.headers.get("set-cookie", "")


def test_login_brute_force_is_slowed_down(env):
    for _ in range(MAX_FAILURES):
        assert login(env.client, "alice", "guess-guess-guess").status_code == 401
    blocked = login(env.client, "alice")  # even the right password waits now
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "登录失败次数过多" in blocked.text


def throttles(engine) -> Iterator:
    yield MemoryThrottle()
    yield DbThrottle(engine)
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_timeout=1)
        client.ping()
    except Exception:  # noqa: BLE001 - no Redis here: the other two are still tested
        return
    yield RedisThrottle(REDIS_URL, prefix=f"zhengwu-test:{uuid.uuid4().hex}:", client=client)


def test_the_throttle_counts_per_client_and_per_account_and_doubles_the_wait(engine):
    for throttle in throttles(engine):
        kind = type(throttle).__name__
        for _ in range(MAX_FAILURES - 1):
            throttle.failed(client_key("10.0.0.1"))
        assert throttle.wait(client_key("10.0.0.1")) == 0, kind
        throttle.failed(client_key("10.0.0.1"))
        first = throttle.wait(client_key("10.0.0.1"))
        throttle.failed(client_key("10.0.0.1"))
        assert first > 0 and throttle.wait(client_key("10.0.0.1")) > first, kind
        assert throttle.wait(client_key("10.0.0.2")) == 0, kind  # another client is not affected
        throttle.succeeded(client_key("10.0.0.1"))
        assert throttle.wait(client_key("10.0.0.1")) == 0, kind
        # An account takes four times as many failures, from any number of clients.
        for n in range(ACCOUNT_MAX_FAILURES - 1):
            throttle.failed(client_key(f"10.1.0.{n}"), account_key("Alice"))
        assert throttle.wait(client_key("10.2.0.1"), account_key("alice")) == 0, kind
        throttle.failed(client_key("10.1.1.1"), account_key("alice"))
        assert throttle.wait(client_key("10.2.0.1"), account_key("alice")) > 0, kind
        assert throttle.wait(client_key("10.2.0.1"), account_key("bob")) == 0, kind


def test_two_workers_share_the_login_throttle(engine, fixture_settings, fixture_index):
    """Issue 15: with 2 workers, 10 wrong passwords got through before the lock (5 per worker)."""
    first, second = (make_env(engine, fixture_settings, fixture_index, staff=n == 0) for n in range(2))
    a, b = next(first), next(second)
    for n in range(MAX_FAILURES):
        assert login((a, b)[n % 2].client, "alice", "guess-guess-guess").status_code == 401
    for worker in (a, b):
        assert login(worker.client, "alice").status_code == 429
    for gen in (first, second):
        gen.close()


def test_behind_a_trusted_proxy_each_citizen_and_each_guesser_is_counted_alone(engine, fixture_settings,
                                                                                fixture_index):
    gen = make_env(engine, fixture_settings, fixture_index, trusted_proxies=["10.9.0.0/16"], rate_limit_per_minute=3)
    env = next(gen)
    with TestClient(env.client.app, client=("10.9.0.5", 40000)) as proxied:
        for citizen in ("203.0.113.7", "203.0.113.8"):  # the proxy's own address is nobody's bucket
            for _ in range(3):
                assert proxied.post("/api/v1/chat", json={"question": "社保卡"},
                                    headers={"X-Forwarded-For": citizen}).status_code == 200
            assert proxied.post("/api/v1/chat", json={"question": "社保卡"},
                                headers={"X-Forwarded-For": citizen}).status_code == 429
        # A client cannot pick its own address: what it wrote left of the proxy's entry is ignored.
        spoofed = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
        assert proxied.post("/api/v1/chat", json={"question": "社保卡"}, headers=spoofed).status_code == 429
        # A guesser behind the proxy locks only themselves out, not the staff behind the same proxy.
        guesser, colleague = {"X-Forwarded-For": "203.0.113.66"}, {"X-Forwarded-For": "192.0.2.10"}
        for _ in range(MAX_FAILURES):
            form = proxied.get("/console/login", headers=guesser)
            proxied.post("/console/login", headers=guesser, follow_redirects=False, data={
                "username": "bob", "password": "wrong-wrong-wrong", "csrf_token": csrf_of(form.text)})
        form = proxied.get("/console/login", headers=colleague)
        signed = proxied.post("/console/login", headers=colleague, follow_redirects=False, data={
            "username": "alice", "password": PASSWORD, "csrf_token": csrf_of(form.text)})
        assert signed.status_code == 303
    # Without the proxy listed, its X-Forwarded-For means nothing: everybody is the peer.
    with TestClient(env.client.app, client=("10.8.0.5", 40000)) as direct:
        for n in range(3):
            direct.post("/api/v1/chat", json={"question": "社保卡"}, headers={"X-Forwarded-For": f"203.0.113.{n}"})
        assert direct.post("/api/v1/chat", json={"question": "社保卡"},
                           headers={"X-Forwarded-For": "203.0.113.99"}).status_code == 429
    gen.close()


def test_the_admin_token_signs_in_by_form_or_header(env):
    form = env.client.get("/console/login")
    response = env.client.post("/console/login/token", data={"token": TOKEN, "csrf_token": csrf_of(form.text)},
                               follow_redirects=False)
    assert response.status_code == 303
    assert env.client.get("/console/staff").status_code == 200  # an administrator
    env.client.cookies.clear()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert env.client.get("/console/staff", headers=headers).status_code == 200
    assert env.client.get("/console/staff", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_disabled_or_demoted_account_loses_access_at_once(env):
    signed_in(env, "alice")
    assert env.client.get("/console/staff").status_code == 200
    env.store.add_staff("carol", PASSWORD, "admin")
    env.store.set_role("alice", "reviewer")
    assert env.client.get("/console/staff").status_code == 403
    env.store.set_active("alice", False)
    assert env.client.get("/console/conversations").status_code == 401


def test_without_a_secret_or_token_the_console_is_off(engine, fixture_settings, fixture_index):
    for env in make_env(engine, fixture_settings, fixture_index, admin_token=None, console_secret=None):
        assert env.client.get("/console/login").status_code == 404
        assert "未启用" in env.client.get("/console/conversations").text


# -- roles and CSRF on every admin route ------------------------------------------------------------------------


def admin_routes(env: Env) -> list[tuple[str, str, dict]]:
    curated = env.store.publish(MISSED, CORRECTED, [Source(ELDERLY, "", "申请方式")], "console:alice")
    return [
        ("POST", "/console/curated", {"question": "新问题", "answer": "新答案",
                                      "source": json.dumps({"doc_id": ELDERLY, "section": ""})}),
        ("POST", f"/console/curated/{curated.id}/withdraw", {}),
        ("GET", "/console/staff", {}),
        ("POST", "/console/staff", {"username": "mallory", "role": "admin", "password": "x" * 12 + "yz12",
                                    "password2": "x" * 12 + "yz12"}),
        ("POST", "/console/staff/bob/role", {"role": "admin"}),
        ("POST", "/console/staff/alice/active", {"active": "0"}),
        ("POST", "/console/staff/alice/password", {"password": "taken-over-123"}),
    ]


def unchanged(env: Env) -> None:
    assert [(s.username, s.role, s.active) for s in env.store.list_staff()] == [
        ("alice", "admin", True), ("bob", "reviewer", True)]
    assert env.store.authenticate("alice", PASSWORD) is not None
    assert [(c.question, c.status) for c in env.store.curated_list()] == [(MISSED, "published")]


def test_admin_routes_refuse_strangers_and_reviewers(env):
    routes = admin_routes(env)
    for method, path, data in routes:  # nobody signed in
        response = env.client.request(method, path, data=data or None)
        assert response.status_code == 401, (method, path)
    token = signed_in(env, "bob")  # a reviewer, with a valid CSRF token
    for method, path, data in routes:
        response = env.client.request(method, path, data={**data, "csrf_token": token} if method == "POST" else None)
        assert response.status_code == 403 and "管理员" in response.text, (method, path)
    unchanged(env)


def test_posts_without_the_csrf_token_are_refused(env):
    routes = admin_routes(env)
    signed_in(env, "alice")
    turn_id = ask(env.client, MISSED)["turn_id"]
    posts = [(path, data) for method, path, data in routes if method == "POST"]
    posts += [(f"/console/turns/{turn_id}/review", {"rating": "wrong"}), ("/console/logout", {})]
    for path, data in posts:
        for token in (None, "forged-token"):
            body = {**data, **({"csrf_token": token} if token else {})}
            response = env.client.post(path, data=body, follow_redirects=False)
            assert response.status_code == 403 and "CSRF" in response.text, path
    unchanged(env)
    assert env.store.conversation(ask(env.client, "电话呢？")["session_id"])[0].reviews == []


def test_reviewer_pages_need_a_sign_in(env):
    turn_id = ask(env.client, MISSED)["turn_id"]
    session = env.store.turn(turn_id).session_id
    for path in ("/console", "/console/conversations", f"/console/conversations/{session}", "/console/curated",
                 "/console/gaps", "/console/gaps.csv", "/console/export", "/console/export/reviewed.jsonl",
                 "/console/handoffs"):
        assert env.client.get(path, follow_redirects=False).status_code == 401, path
    assert env.client.post(f"/console/turns/{turn_id}/review", data={"rating": "wrong"}).status_code == 401
    assert env.store.conversation(session)[0].reviews == []


# -- the review loop --------------------------------------------------------------------------------------------


def test_review_publish_and_withdraw_through_the_console(env):
    answer = ask(env.client, MISSED)  # answered by quoting the policy; staff write a better answer
    assert answer["status"] == "answered" and answer["turn_id"]
    session = answer["session_id"]
    token = signed_in(env, "alice")

    listing = env.client.get("/console/conversations", params={"q": "失能", "status": "answered"})
    assert MISSED in listing.text and f"/console/conversations/{session}#turn-{answer['turn_id']}" in listing.text
    assert MISSED not in env.client.get("/console/conversations", params={"status": "refused"}).text

    detail = env.client.get(f"/console/conversations/{session}")
    assert detail.status_code == 200 and "检索到的资料" in detail.text
    assert "广州市居家养老服务补贴办法（测试样例）" in detail.text  # a retrieved document, with its text
    assert "申请人向户籍所在地街道办事处提出申请" in detail.text and "发布为标准答案" in detail.text

    review = env.client.post(f"/console/turns/{answer['turn_id']}/review", data={
        "csrf_token": token, "rating": "wrong", "reasons": ["retrieval_miss", "bogus"],
        "corrected_answer": CORRECTED, "source": [json.dumps({"doc_id": ELDERLY, "section": "申请方式"}),
                                                  json.dumps({"doc_id": "no-such-doc", "section": ""})],
        "extra_doc": "中华人民共和国居民身份证法", "must_contain": "街道办事处、十个工作日",
    }, follow_redirects=False)
    assert review.status_code == 303 and "msg=reviewed" in review.headers["location"]
    [saved] = env.store.conversation(session)[0].reviews
    assert (saved.reviewer, saved.rating, saved.reasons) == ("console:alice", "wrong", ["retrieval_miss"])
    assert [(s.doc_id, s.section) for s in saved.sources] == [(ELDERLY, "申请方式"), ("law-0e5808b898", "")]
    assert saved.sources[0].title == "广州市居家养老服务补贴办法（测试样例）"  # from the index, not the form
    assert saved.must_contain == ["街道办事处", "十个工作日"]
    page = env.client.get(review.headers["location"])
    assert "评价已保存" in page.text and CORRECTED in page.text

    bad = env.client.post(f"/console/turns/{answer['turn_id']}/review", data={
        "csrf_token": token, "rating": "wrong", "extra_doc": "没有这个文件"}, follow_redirects=False)
    assert "error=unknown_doc" in bad.headers["location"]

    none = env.client.post("/console/curated", data={"csrf_token": token, "turn_id": answer["turn_id"],
                                                     "question": MISSED, "answer": CORRECTED},
                           follow_redirects=False)
    assert "error=need_sources" in none.headers["location"]
    published = env.client.post("/console/curated", data={
        "csrf_token": token, "turn_id": answer["turn_id"], "question": MISSED, "answer": CORRECTED,
        "source": json.dumps({"doc_id": ELDERLY, "section": "申请方式"})}, follow_redirects=False)
    assert published.status_code == 303 and "msg=published" in published.headers["location"]

    again = ask(env.client, MISSED)
    assert again["status"] == "answered" and again["path"] == "curated:v1" and again["text"] == CORRECTED
    assert again["citations"][0]["title"] == "广州市居家养老服务补贴办法（测试样例）"
    curated_page = env.client.get("/console/curated")
    assert "第 1 版" in curated_page.text and "使用中" in curated_page.text
    [entry] = env.store.curated_list()
    withdrawn = env.client.post(f"/console/curated/{entry.id}/withdraw", data={"csrf_token": token},
                                follow_redirects=False)
    assert withdrawn.status_code == 303 and "msg=withdrawn" in withdrawn.headers["location"]
    assert ask(env.client, MISSED)["path"] == "composer"
    actions = [e.action for e in env.people.audit_log()]
    assert "publish_curated" in actions and "withdraw_curated" in actions


def test_opening_a_citizens_conversation_is_audited(env):
    core = ChannelCore(env.assistant, env.people)
    core.handle_text("wechat", "o-citizen", "实验动物生产许可的咨询电话是多少？")
    user_id = env.people.user_for("wechat", "o-citizen", create=False)
    session = env.people.turns(user_id=user_id)[0].session_id
    anonymous = ask(env.client, "弩的运输审批在哪里办理？")["session_id"]
    signed_in(env, "bob")
    assert env.client.get(f"/console/conversations/{session}").status_code == 200
    assert env.client.get(f"/console/conversations/{anonymous}").status_code == 200
    assert env.client.get(f"/console/conversations/{'0' * 32}").status_code == 404
    views = [e for e in env.people.audit_log() if e.action == "view_conversation"]
    assert [(e.actor, e.user_id) for e in views] == [("console:bob", user_id)]  # the anonymous one is nobody's


def test_staff_management_by_an_admin(env):
    token = signed_in(env, "alice")
    added = env.client.post("/console/staff", data={"csrf_token": token, "username": "carol", "role": "reviewer",
                                                    "password": "carol-password-1", "password2": "carol-password-1"},
                            follow_redirects=False)
    assert "msg=staff_added" in added.headers["location"]
    assert env.store.authenticate("carol", "carol-password-1").role == "reviewer"
    weak = env.client.post("/console/staff", data={"csrf_token": token, "username": "dave", "role": "reviewer",
                                                   "password": "short", "password2": "short"}, follow_redirects=False)
    assert "error=password" in weak.headers["location"] and env.store.staff("dave") is None
    duplicate = env.client.post("/console/staff", data={"csrf_token": token, "username": "carol",
                                                        "role": "reviewer", "password": "carol-password-2",
                                                        "password2": "carol-password-2"}, follow_redirects=False)
    assert "error=exists" in duplicate.headers["location"]
    env.client.post("/console/staff/carol/role", data={"csrf_token": token, "role": "admin"})
    env.client.post("/console/staff/carol/active", data={"csrf_token": token, "active": "0"})
    env.client.post("/console/staff/carol/password", data={"csrf_token": token, "password": "carol-password-3"})
    carol = env.store.staff("carol")
    assert (carol.role, carol.active) == ("admin", False)
    env.store.set_active("carol", True)
    assert env.store.authenticate("carol", "carol-password-3") is not None
    page = env.client.get("/console/staff")
    assert "carol" in page.text and "管理员" in page.text
    actions = [(e.actor, e.action) for e in env.people.audit_log()]
    assert ("console:alice", "staff_add") in actions and ("console:alice", "staff_disable") in actions


COMPLAINT = ("投诉星河湾小区物业乱收停车费。我们是星河湾小区的业主，物业从上个月起每月多收两百元，联系电话13800138000，"
             "多次反映无人处理，恳请有关部门尽快调查处理！")


def test_handed_off_messages_are_listed_for_staff_with_their_record(env):
    handed = ask(env.client, COMPLAINT)
    assert handed["status"] == "refused" and handed["reason"] == "handoff"
    assert handed["handoff"] == {"category": "complaint", "department": "住房和城乡建设局", "place": "星河湾小区"}
    ask(env.client, "实验动物生产许可的咨询电话是多少？")  # an ordinary question is no handoff
    stored = env.store.turn(handed["turn_id"])
    assert stored.handoff["category"] == "complaint" and "13800138000" not in stored.question
    signed_in(env, "bob")
    page = env.client.get("/console/handoffs")
    assert page.status_code == 200
    assert "星河湾小区" in page.text and "住房和城乡建设局" in page.text and "投诉" in page.text
    assert "实验动物" not in page.text and "13800138000" not in page.text
    assert "共 1 条" in page.text
    assert "共 0 条" in env.client.get("/console/handoffs?category=report").text
    detail = env.client.get(f"/console/conversations/{handed['session_id']}")
    assert "推测部门：住房和城乡建设局" in detail.text and "13800138000" not in detail.text
    for odd in ("?page=99999999999999999999", "?page=-1", "?category=<script>"):
        assert env.client.get("/console/handoffs" + odd).status_code == 200, odd


def test_knowledge_gaps_page_and_csv(env):
    for question in ("老人走失了去哪里找？", "老人摔倒了没人扶怎么办？", "量子计算机的纠错码原理是什么？"):
        assert ask(env.client, question)["status"] == "refused"
    disliked = ask(env.client, "弩的运输审批需要什么材料？")
    assert env.client.post("/api/v1/feedback", json={"turn_id": disliked["turn_id"], "value": -1,
                                                     "session_id": disliked["session_id"]}).status_code == 200
    ask(env.client, "帮我写一首关于秋天的诗")  # refused, but chit-chat is no knowledge gap
    signed_in(env, "bob")
    page = env.client.get("/console/gaps")
    assert page.status_code == 200 and "老人" in page.text and "秋天" not in page.text
    csv_response = env.client.get("/console/gaps.csv")
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["content-disposition"]
    raw = csv_response.content
    assert raw.startswith("\ufeff".encode())
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("主题,次数,拒答,差评")
    assert lines[1].startswith("老人,2,2,0")  # the two questions about the elderly, most frequent first
    assert any("弩的运输审批需要什么材料" in line and ",1,0,1," in line for line in lines)


def test_review_set_download(env):
    answer = ask(env.client, MISSED)
    env.store.add_review(answer["turn_id"], "console:bob", "wrong", ["retrieval_miss"], corrected_answer=CORRECTED,
                         sources=[Source(ELDERLY, "", "申请方式")])
    signed_in(env, "bob")
    assert "审核集" in env.client.get("/console/export").text
    response = env.client.get("/console/export/reviewed.jsonl")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    [item] = [json.loads(line) for line in response.text.splitlines()]
    assert item["question"] == MISSED and item["gold_doc_ids"] == [ELDERLY] and item["gold_answer"] == CORRECTED
    assert item["answerable"] is True and item["meta"]["reasons"] == ["retrieval_miss"]
    assert env.client.get("/console/export/reviewed.jsonl", params={"min_rating": "correct"}).text == ""
    assert env.client.get("/console/export/reviewed.jsonl", params={"rating": "wrong"}).text.count("\n") == 1
    assert env.client.get("/console/export/reviewed.jsonl", params={"min_rating": "great"}).status_code == 422


def test_html_in_questions_is_escaped(env):
    answer = ask(env.client, "<script>alert(1)</script>居住证怎么办理？")
    signed_in(env, "bob")
    for page in (env.client.get("/console/conversations"), env.client.get(
            f"/console/conversations/{answer['session_id']}")):
        assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text


# -- citizens' feedback -----------------------------------------------------------------------------------------


def test_feedback_api_only_for_the_session_that_got_the_answer(env):
    answer = ask(env.client, "实验动物生产许可的咨询电话是多少？")
    turn_id, session = answer["turn_id"], answer["session_id"]
    assert isinstance(turn_id, int)
    ok = env.client.post("/api/v1/feedback", json={"turn_id": turn_id, "value": 1, "session_id": session})
    assert ok.status_code == 200 and ok.json()["message"] == "感谢您的反馈！"
    assert env.store.feedback(turn_id) == 1
    env.client.post("/api/v1/feedback", json={"turn_id": turn_id, "value": -1},
                    headers={"X-Session-Id": session})  # a later rating replaces it
    assert env.store.feedback(turn_id) == -1

    other = env.client.post("/api/v1/feedback", json={"turn_id": turn_id, "value": 1, "session_id": "b" * 32})
    assert other.status_code == 404 and "没有找到" in other.json()["message"]
    env.client.cookies.clear()
    anonymous = env.client.post("/api/v1/feedback", json={"turn_id": turn_id, "value": 1})
    assert anonymous.status_code == 403 and "本次对话" in anonymous.json()["message"]
    invalid = env.client.post("/api/v1/feedback", json={"turn_id": turn_id, "value": 5, "session_id": session})
    assert invalid.status_code == 422 and invalid.json()["message"] == "请求格式不正确，请检查后重试。"
    assert env.store.feedback(turn_id) == -1

    events = env.client.post("/api/v1/chat/stream", json={"question": "弩的运输审批在哪里办理？"}).text
    done = json.loads(events.strip().split("\n\n")[-1].split("data: ", 1)[1])
    assert isinstance(done["turn_id"], int)


def test_feedback_is_rate_limited(engine, fixture_settings, fixture_index):
    for env in make_env(engine, fixture_settings, fixture_index, rate_limit_per_minute=2):
        answer = ask(env.client, "实验动物生产许可的咨询电话是多少？")
        body = {"turn_id": answer["turn_id"], "value": 1, "session_id": answer["session_id"]}
        assert env.client.post("/api/v1/feedback", json=body).status_code == 200
        limited = env.client.post("/api/v1/feedback", json=body)
        assert limited.status_code == 429 and limited.json()["message"] == "请求过于频繁，请稍后再试。"


def test_feedback_needs_the_people_store(fixture_settings, fixture_index):
    settings = fixture_settings.model_copy(update={"rate_limit_per_minute": 0})
    with TestClient(app_for(settings, make_assistant(settings, fixture_index))) as client:
        answer = ask(client, "实验动物生产许可的咨询电话是多少？")
        assert answer["turn_id"] is None
        response = client.post("/api/v1/feedback", json={"turn_id": 1, "value": 1, "session_id": "a" * 32})
        assert response.status_code == 404 and "暂未开通" in response.json()["message"]


def test_chat_channels_take_feedback_as_plain_messages(env):
    core = ChannelCore(env.assistant, env.people)
    assert core.handle_text("telegram", "42", "没用").text == NOTHING_TO_RATE
    answer = core.handle_text("telegram", "42", "实验动物生产许可的咨询电话是多少？").answer
    assert core.handle_text("telegram", "42", "👎").text == THANKS_DOWN
    assert env.store.feedback(answer.turn_id) == -1
    assert core.handle_text("telegram", "42", "有用！").text == THANKS_UP
    assert env.store.feedback(answer.turn_id) == 1

    other_worker = ChannelCore(env.assistant, env.people)  # it did not see the question: the store tells it
    assert other_worker.handle_text("telegram", "42", "没帮助").text == THANKS_DOWN
    assert env.store.feedback(answer.turn_id) == -1
    assert core.handle_text("telegram", "7", "有用").text == NOTHING_TO_RATE  # someone else's answer is not theirs

    core.handle_text("telegram", "42", "重新开始")
    assert core.handle_text("telegram", "42", "有用").text == NOTHING_TO_RATE


def test_ids_and_page_numbers_no_row_can_have_are_a_404_or_page_one(env):
    """Issue 15, failure 4: console routes with huge ids or page numbers answered 500 (integer overflow)."""
    csrf = signed_in(env, "alice")
    for raw in ("9223372036854775808", str(10**40), "²", "-1", "0", "1e9"):
        review = env.client.post(f"/console/turns/{raw}/review", data={"rating": "wrong", "csrf_token": csrf},
                                 follow_redirects=False)
        assert review.status_code == 404, (raw, review.status_code)
        withdraw = env.client.post(f"/console/curated/{raw}/withdraw", data={"csrf_token": csrf},
                                   follow_redirects=False)
        assert withdraw.status_code == 404, (raw, withdraw.status_code)
        published = env.client.post("/console/curated", data={"turn_id": raw, "question": "问", "answer": "答",
                                                              "replaces_id": raw, "csrf_token": csrf},
                                    follow_redirects=False)
        assert published.status_code == 303, (raw, published.status_code)
        for page in ("/console/conversations", "/console/handoffs"):
            assert env.client.get(page, params={"page": raw}).status_code == 200, (page, raw)


def test_corpus_health_of_the_running_index_in_the_console(env):
    """Issue 16: the corpus-health checks in the console, for reviewers and admins, never for strangers."""
    assert env.client.get("/console/health", follow_redirects=False).status_code in (303, 401)
    signed_in(env, "bob")
    first = env.client.get("/console/health")
    assert first.status_code == 200 and "text/html" in first.headers["content-type"]
    assert "审核台 · 当前索引" in first.text and "<script" not in first.text
    assert env.client.get("/console/health").text == first.text  # built once per index version and day
