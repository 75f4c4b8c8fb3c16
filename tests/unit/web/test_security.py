"""Security review, as tests: every route is either public by design or refuses an anonymous request; secrets
never reach a log line; hostile input gets a clean 4xx.

The route walk reads the app itself (the OpenAPI paths and the routes kept out of the schema, such as the
console and the channel callbacks), so a route added later without protection fails here.
"""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient
from helpers import app_for, make_assistant

from zhengwu.db import make_engine, upgrade
from zhengwu.personal import PeopleStore
from zhengwu.pii import mask_pii

SECRETS = {
    "admin_token": "admin-secret-7f3a9c", "portal_secret": "portal-secret-51be", "wechat_token": "wechat-tok-88d1",
    "wechat_app_secret": "wechat-appsecret-02c4", "wecom_token": "wecom-tok-6a1e", "wecom_secret": "wecom-sec-3b77",
    "telegram_token": "123456:telegram-secret-9e2d", "telegram_webhook_secret": "tg-webhook-secret-44f0",
    "console_secret": "console-secret-c0ffee", "llm_api_key": "sk-llm-secret-d00d",
}
# Public by design, each with the reason. Everything else must refuse an anonymous request.
PUBLIC = {
    ("POST", "/api/v1/chat"): "citizen chat is anonymous",
    ("POST", "/api/v1/chat/stream"): "citizen chat is anonymous",
    ("POST", "/api/v1/feedback"): "checked against the session that got the answer",
    ("GET", "/healthz"): "liveness probe",
    ("GET", "/readyz"): "readiness probe",
    ("GET", "/metrics"): "Prometheus scrape; restricted to the monitoring network at the proxy (docs/deploy.md)",
    ("GET", "/"): "demo page",
    ("GET", "/s/{code}"): "short links to public source documents",
    ("GET", "/console"): "redirects to the login page",
    ("GET", "/console/"): "redirects to the login page",
    ("GET", "/console/login"): "the login page",
    ("POST", "/console/login"): "the login form (throttled, CSRF-checked)",
    ("POST", "/console/login/token"): "login with the admin token",
    ("POST", "/console/logout"): "logging out needs no rights",
}
REFUSED = {401, 403, 404}
# Platform callbacks refuse an unsigned request as malformed (400) or forged (403).
CALLBACKS = {"/wechat", "/wecom", "/telegram/webhook"}
# An anonymous caller's body: well-formed, with a forged citizen token where one is asked for.
ANONYMOUS_BODY = {"user_token": "forged.1.0000", "question": "实验动物生产许可的咨询电话是多少？"}


@pytest.fixture(scope="module")
def app(tmp_path_factory, fixture_settings, fixture_index):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('sec') / 'people.sqlite3'}")
    upgrade(engine)
    people = PeopleStore(engine, mask=mask_pii)
    settings = fixture_settings.model_copy(update={
        **SECRETS, "rate_limit_per_minute": 0, "wechat_app_id": "wxsecurity", "wecom_corp_id": "wwsecurity",
        "wecom_agent_id": 1000002, "wecom_aes_key": "a" * 43, "llm_base_url": None,
    })
    return app_for(settings, make_assistant(settings, fixture_index, people=people), people)


def all_routes(app) -> list[tuple[str, str]]:
    found = set()
    for path, operations in app.openapi()["paths"].items():
        found.update((method.upper(), path) for method in operations)

    def walk(routes):
        for route in routes:
            if hasattr(route, "original_router"):
                walk(route.original_router.routes)
            elif getattr(route, "methods", None) and route.path not in ("/openapi.json", "/docs", "/redoc",
                                                                         "/docs/oauth2-redirect"):
                found.update((m, route.path) for m in route.methods if m != "HEAD")

    walk(app.routes)
    return sorted(found)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_non_public_route_refuses_an_anonymous_request(app):
    routes = all_routes(app)
    assert len(routes) >= 30, routes  # the walk really sees the console and channel routes
    unprotected = []
    with TestClient(app, follow_redirects=False) as client:
        for method, path in routes:
            if (method, path) in PUBLIC:
                continue
            response = client.request(method, concrete(path), json=ANONYMOUS_BODY)
            refused = response.status_code in REFUSED or (path in CALLBACKS and response.status_code == 400) or (
                response.status_code in (302, 303) and "/console/login" in response.headers.get("location", ""))
            if not refused:
                unprotected.append((method, path, response.status_code))
    assert unprotected == [], "\n".join(map(str, unprotected))


def test_the_public_list_only_names_routes_that_exist(app):
    routes = set(all_routes(app))
    assert [r for r in PUBLIC if r not in routes] == []


def test_a_wrong_bearer_token_is_refused_everywhere_staff(app):
    with TestClient(app, follow_redirects=False) as client:
        for method, path in all_routes(app):
            if path.startswith("/api/v1/admin"):
                response = client.request(method, path, headers={"Authorization": "Bearer wrong"}, json={})
                assert response.status_code == 401, (method, path)


def test_secrets_never_reach_a_log_line(app, caplog):
    caplog.set_level(logging.DEBUG)
    with TestClient(app) as client:
        client.post("/api/v1/chat", json={"question": "实验动物生产许可的咨询电话是多少？"})
        client.get("/api/v1/admin/stats", headers={"Authorization": f"Bearer {SECRETS['admin_token']}"})
        client.get("/api/v1/admin/stats", headers={"Authorization": "Bearer guess"})
        client.post("/telegram/webhook", headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}, json={})
        client.get("/wechat", params={"signature": "x", "timestamp": "1", "nonce": "n", "echostr": "e"})
        client.get("/readyz")
        client.get("/metrics")
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert [name for name, value in SECRETS.items() if value in text] == []


@pytest.mark.parametrize(("body", "code"), [
    (b"", 422), (b"{", 422), (b"null", 422), (b"[]", 422), (b'{"question": null}', 422), (b'{"question": 12}', 422),
    (b"{\"question\": \"\\ud800\"}", 422),  # a lone surrogate cannot be answered, nor echoed back
    (b'{"question": "' + b"\xe4\xbd" + b'"}', 400),  # not UTF-8: not even JSON text
    (b'{"question": "x", "region": "' + b"A" * 100 + b'"}', 422),  # a region is a place name, not a payload
])
def test_hostile_chat_bodies_get_a_clean_4xx_in_chinese(app, body, code):
    with TestClient(app) as client:
        response = client.post("/api/v1/chat", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == code, (body, response.text[:200])
    assert response.json()["message"] == "请求格式不正确，请检查后重试。"
    assert len(response.content) < 4096  # no traceback, no echo of a large input


def test_a_session_id_that_is_not_ours_starts_a_new_conversation(app):
    with TestClient(app) as client:
        response = client.post("/api/v1/chat", json={"question": "a", "session_id": "../../etc/passwd"})
    assert response.status_code == 200
    answer = response.json()
    assert (answer["status"], answer["reason"]) == ("clarify", "unreadable")
    assert answer["session_id"] != "../../etc/passwd" and len(answer["session_id"]) == 32


def test_the_metrics_endpoint_counts_requests_and_answers(app):
    with TestClient(app) as client:
        client.post("/api/v1/chat", json={"question": "实验动物生产许可的咨询电话是多少？"})
        client.post("/api/v1/chat", json={"question": "今天天气怎么样？"})
        text = client.get("/metrics").text
    assert 'zhengwu_http_requests_total{method="POST",route="/api/v1/chat",status="200"}' in text
    assert re.search(r'zhengwu_answers_total\{path="composer",status="answered"\} [1-9]', text)
    assert re.search(r'zhengwu_refusals_total\{reason="out_of_scope"\} [1-9]', text)
    assert "zhengwu_http_request_seconds_bucket" in text


def test_responses_carry_a_request_id(app):
    with TestClient(app) as client:
        mine = client.get("/healthz", headers={"X-Request-Id": "proxy-abc-12345"})
        fresh = client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert mine.headers["x-request-id"] == "proxy-abc-12345"
    assert re.fullmatch(r"[0-9a-f]{16}", fresh.headers["x-request-id"])
