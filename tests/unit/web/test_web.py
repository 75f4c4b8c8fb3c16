"""The HTTP service, run for real: the ASGI app through httpx for most paths, and `zhengwu serve` under uvicorn
in a subprocess for the restart path."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import FIXTURE_CORPUS, app_for, free_port, make_assistant

from zhengwu.answering.assistant import Assistant
from zhengwu.db import make_engine, upgrade
from zhengwu.personal import DbSessionStore

PHONE_Q = "实验动物生产许可的咨询电话是多少？"


def db_sessions(path, ttl: float = 1800.0) -> DbSessionStore:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return DbSessionStore(engine, ttl=ttl, owns_engine=True)


@pytest.fixture
def client(fixture_settings, fixture_index, tmp_path):
    settings = fixture_settings.model_copy(update={"rate_limit_per_minute": 0})
    sessions = db_sessions(tmp_path / "sessions.sqlite3")
    app = app_for(settings, make_assistant(settings, fixture_index, sessions=sessions))
    with TestClient(app) as c:
        yield c


def parse_sse(body: str) -> list[tuple[str, dict]]:
    events = []
    for block in body.strip().split("\n\n"):
        lines = block.split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: ") and len(lines) == 2, block
        events.append((lines[0][7:], json.loads(lines[1][6:])))
    return events


def test_chat_answers_with_citations_and_a_session(client):
    r = client.post("/api/v1/chat", json={"question": PHONE_Q})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "answered" and "020-84106805" in body["text"]
    assert body["citations"][0]["section"] == "咨询电话"
    assert body["citations"][0]["source_url"].startswith("http")
    assert body["session_id"] and body["latency_ms"] > 0
    assert r.cookies.get("zhengwu_session") == body["session_id"]


def test_stream_is_well_framed_and_ends_with_the_full_answer(client):
    r = client.post("/api/v1/chat/stream", json={"question": "弩的运输审批在哪里办理？"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    kinds = [e for e, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"delta"} and len(kinds) >= 3
    done = events[-1][1]
    assert "".join(d["text"] for e, d in events if e == "delta") == done["text"]
    assert done["citations"] and done["status"] == "answered"


def test_follow_up_continues_the_session_by_id_header_or_cookie(client):
    first = client.post("/api/v1/chat", json={"question": "弩的运输审批在哪里办理？", "region": "广州市"}).json()
    by_body = client.post("/api/v1/chat", json={"question": "电话呢？", "session_id": first["session_id"]}).json()
    assert "020-12345" in by_body["text"] and "020-83110470" not in by_body["text"]
    by_header = client.post("/api/v1/chat", json={"question": "那需要什么材料？"},
                            headers={"X-Session-Id": first["session_id"]}).json()
    assert "申请运输弩审批表" in by_header["text"]
    by_cookie = client.post("/api/v1/chat", json={"question": "电话呢？"}).json()  # TestClient keeps the cookie
    assert by_cookie["session_id"] == first["session_id"]


def test_a_forged_session_id_is_not_used(client):
    r = client.post("/api/v1/chat", json={"question": PHONE_Q, "session_id": "../../etc/passwd"})
    assert r.status_code == 200 and r.json()["session_id"] != "../../etc/passwd"


@pytest.mark.parametrize(
    "payload",
    [{}, {"question": 12}, {"question": None}, {"question": "办" * 6000}, {"question": "x", "region": "r" * 100}, []],
)
def test_schema_errors_are_422_with_a_readable_body(client, payload):
    r = client.post("/api/v1/chat", json=payload)
    assert r.status_code == 422
    body = r.json()
    assert body["message"] == "请求格式不正确，请检查后重试。" and body["detail"].startswith("invalid request")


def test_not_json_and_huge_bodies_are_refused_cleanly(client):
    garbled = client.post("/api/v1/chat", content=b"\xff\xfe not json", headers={"content-type": "application/json"})
    assert garbled.status_code in (400, 422) and garbled.json()["message"] == "请求格式不正确，请检查后重试。"
    assert client.post("/api/v1/chat", content=b'{"question": ', headers={"content-type": "application/json"}
                       ).status_code == 422
    r = client.post("/api/v1/chat", content=b"{" + b" " * 70_000 + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["message"] == "请求内容过大。"


def test_long_question_gets_a_chinese_message_not_an_error(client):
    r = client.post("/api/v1/chat", json={"question": "办" * 1000})
    assert r.status_code == 200 and r.json()["status"] == "clarify" and "超过了" in r.json()["text"]


def test_a_crash_inside_the_assistant_is_not_a_500(client, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(Assistant, "ask", broken)
    r = client.post("/api/v1/chat", json={"question": PHONE_Q})
    assert r.status_code == 200 and r.json()["reason"] == "internal_error" and "12345" in r.json()["text"]


def test_rate_limit_answers_429_with_retry_after(fixture_settings, fixture_index):
    settings = fixture_settings.model_copy(update={"rate_limit_per_minute": 3})
    with TestClient(app_for(settings, make_assistant(settings, fixture_index))) as c:
        codes = [c.post("/api/v1/chat", json={"question": PHONE_Q}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.post("/api/v1/chat/stream", json={"question": PHONE_Q})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert r.json()["message"] == "请求过于频繁，请稍后再试。"


def test_admin_routes_need_the_token(fixture_settings, fixture_index):
    open_app = app_for(fixture_settings, make_assistant(fixture_settings, fixture_index))
    with TestClient(open_app) as c:
        assert c.get("/api/v1/admin/stats").status_code == 403  # no token configured: disabled
    settings = fixture_settings.model_copy(update={"admin_token": "s3cret-token"})
    with TestClient(app_for(settings, make_assistant(settings, fixture_index))) as c:
        assert c.get("/api/v1/admin/stats").status_code == 401
        assert c.get("/api/v1/admin/stats", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = c.get("/api/v1/admin/stats", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200 and ok.json()["documents"] == 8
        assert c.post("/api/v1/admin/reindex").status_code == 401
        done = c.post("/api/v1/admin/reindex", headers={"Authorization": "Bearer s3cret-token"})
        assert done.status_code == 200 and done.json()["unchanged"] == 8


def test_health_readiness_openapi_and_demo(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/chat", "/api/v1/chat/stream", "/api/v1/admin/stats"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "widget.js" in page.text
    assert client.get("/static/widget.js").status_code == 200


def test_cors_allows_only_configured_origins(fixture_settings, fixture_index):
    settings = fixture_settings.model_copy(update={"cors_origins": ["https://www.gz.gov.cn"]})
    with TestClient(app_for(settings, make_assistant(settings, fixture_index))) as c:
        allowed = c.options("/api/v1/chat", headers={"Origin": "https://www.gz.gov.cn",
                                                     "Access-Control-Request-Method": "POST"})
        assert allowed.headers.get("access-control-allow-origin") == "https://www.gz.gov.cn"
        other = c.post("/api/v1/chat", json={"question": PHONE_Q}, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers



def _serve(data_dir: Path, port: int, workers: int = 1) -> subprocess.Popen:
    env = {**os.environ, "ZHENGWU_DATA_DIR": str(data_dir), "ZHENGWU_CORPUS_DIR": str(FIXTURE_CORPUS),
           "TQDM_DISABLE": "1"}
    cli = Path(sys.executable).with_name("zhengwu")
    proc = subprocess.Popen([str(cli), "serve", "--port", str(port), "--workers", str(workers)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"zhengwu serve exited: {proc.stdout.read()}")
        time.sleep(0.3)
    proc.kill()
    raise AssertionError("zhengwu serve did not become ready")


@pytest.mark.slow
def test_sessions_survive_a_restart_of_the_real_server(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1/chat"
    server = _serve(tmp_path / "data", port)
    try:
        first = httpx.post(base, json={"question": "弩的运输审批在哪里办理？", "region": "广州市"}, timeout=30).json()
    finally:
        server.terminate()
        server.wait(timeout=30)
    server = _serve(tmp_path / "data", port)  # a new process: only SQLite remembers the conversation
    try:
        follow = httpx.post(base, json={"question": "电话呢？", "session_id": first["session_id"]}, timeout=30).json()
        assert follow["session_id"] == first["session_id"]
        assert "020-12345" in follow["text"] and "020-83110470" not in follow["text"]
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_sessions_are_shared_by_workers(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1/chat"
    server = _serve(tmp_path / "data", port, workers=2)
    try:
        first = httpx.post(base, json={"question": "弩的运输审批在哪里办理？", "region": "广州市"}, timeout=30).json()
        # each request on a new connection, so the two workers take turns; every one must see the session
        for _ in range(6):
            with httpx.Client(timeout=30) as fresh:
                follow = fresh.post(base, json={"question": "电话呢？", "session_id": first["session_id"]}).json()
            assert "020-12345" in follow["text"] and "020-83110470" not in follow["text"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_expired_sessions_are_forgotten(tmp_path):
    store = db_sessions(tmp_path / "s.sqlite3", ttl=0.2)
    session = store.get(None)
    session.subject = "doc-1"
    store.save(session)
    assert store.get(session.session_id).subject == "doc-1"
    time.sleep(0.3)
    assert store.get(session.session_id).subject is None


def test_the_access_log_keeps_paths_not_query_strings():
    """Through the record factories as installed (PII masking formats a record when it is made): a filter on the
    formatted record would come too late. tests/integration/test_served.py reads the log of a real server."""
    import logging

    from zhengwu.web.app import drop_access_log_query_strings

    drop_access_log_query_strings()
    logger = logging.getLogger("uvicorn.access")
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "POST", "/wechat?openid=oABC123&signature=ff", "1.1", 200), None)
    assert record.getMessage() == '127.0.0.1:5000 - "POST /wechat HTTP/1.1" 200'
