"""资料管理 over HTTP: the console's document pages and ``/api/v1/admin/documents``. Administrators upload,
preview, publish and roll back; reviewers read and get 403 on every change; anonymous requests reach nothing;
bad files are refused with a Chinese message and change nothing.

Runs on SQLite, and on PostgreSQL too when ZHENGWU_TEST_DATABASE_URL names one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from helpers import app_for, make_assistant, make_settings
from helpers.documents import DOG_GUIDE as DOG

from zhengwu.documents.loaders import load_paths
from zhengwu.index import Index
from zhengwu.personal import PeopleStore
from zhengwu.pii import mask_pii
from zhengwu.review import ReviewStore

TOKEN = "staff-token"
PASSWORD = "correct-horse-battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Env:
    client: TestClient
    index: Index
    services: object


@pytest.fixture
def env(engine, tmp_path, corpus_copy) -> Iterator[Env]:
    settings = make_settings(tmp_path / "data", corpus_dir=corpus_copy, rate_limit_per_minute=0, admin_token=TOKEN,
                             max_upload_mb=1)
    index = Index(settings)
    loaded = load_paths([corpus_copy], root=corpus_copy)
    index.ingest(loaded.documents, str(corpus_copy.resolve()), errors=loaded.errors)
    people = PeopleStore(engine, mask=mask_pii)
    reviews = ReviewStore(engine)
    reviews.add_staff("alice", PASSWORD, "admin")
    reviews.add_staff("bob", PASSWORD, "reviewer")
    app = app_for(settings, make_assistant(settings, index, people=people))
    with TestClient(app) as client:
        yield Env(client, index, app.state.zhengwu.services)
    index.close()


def sign_in(client: TestClient, username: str) -> str:
    form = client.get("/console/login")
    token = CSRF.search(form.text).group(1)
    response = client.post("/console/login", data={"username": username, "password": PASSWORD,
                                                   "next": "/console/documents", "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    return CSRF.search(client.get("/console/documents").text).group(1)


def settle(env: Env) -> None:
    assert env.services.library.publisher.wait(60)


def upload(env: Env, csrf: str, name: str, data: bytes, **fields):
    return env.client.post("/console/documents/upload", data={"csrf_token": csrf, **fields},
                           files={"file": (name, data)}, follow_redirects=False)


def ask(env: Env, question: str) -> dict:
    response = env.client.post("/api/v1/chat", json={"question": question, "region": "广州市"})
    assert response.status_code == 200, response.text
    return response.json()


def test_admin_uploads_previews_publishes_and_rolls_back(env):
    csrf = sign_in(env.client, "alice")
    response = upload(env, csrf, "dog.md", DOG.format(days=5).encode())
    assert response.status_code == 303 and response.headers["location"].startswith("/console/documents/gz-dog-licence/v/1")
    preview = env.client.get(response.headers["location"])
    assert preview.status_code == 200 and "切分结果" in preview.text and "020-83118888" in preview.text
    assert "发布此版本" in preview.text
    assert "gz-dog-licence" not in env.index.documents()

    published = env.client.post("/console/documents/gz-dog-licence/publish",
                                data={"csrf_token": csrf, "version": "1"}, follow_redirects=False)
    assert published.status_code == 303
    settle(env)
    answer = ask(env, "犬只登记要多久")
    assert any(c["title"] == "犬只登记" for c in answer["citations"]) and "5个工作日" in answer["text"]

    upload(env, csrf, "dog.md", DOG.format(days=9).encode())
    env.client.post("/console/documents/gz-dog-licence/publish", data={"csrf_token": csrf, "version": "2"})
    settle(env)
    assert "9个工作日" in ask(env, "犬只登记要多久")["text"]
    diff = env.client.get("/console/documents/gz-dog-licence/v/2")
    assert 'class="diff-added"' in diff.text and "9个工作日" in diff.text and "与第 1 版相比" in diff.text

    env.client.post("/console/documents/gz-dog-licence/rollback", data={"csrf_token": csrf, "version": "1"})
    settle(env)
    assert "5个工作日" in ask(env, "犬只登记要多久")["text"]
    page = env.client.get("/console/documents/gz-dog-licence")
    assert "第 3 版" in page.text and "回滚" in page.text and "alice" in page.text  # versions and the trail
    listing = env.client.get("/console/documents?origin=console")
    assert "犬只登记" in listing.text and "弩的运输审批" not in listing.text


def test_a_reviewer_reads_but_cannot_change_anything(env):
    admin_client_csrf = sign_in(env.client, "alice")
    upload(env, admin_client_csrf, "dog.md", DOG.format(days=5).encode())
    env.client.cookies.clear()
    csrf = sign_in(env.client, "bob")
    assert env.client.get("/console/documents").status_code == 200
    assert env.client.get("/console/documents/gz-dog-licence/v/1").status_code == 200
    assert env.client.get("/console/documents/new").status_code == 403
    for path, data in [("/console/documents/gz-dog-licence/publish", {"version": "1"}),
                       ("/console/documents/gz-dog-licence/discard", {}), ("/console/documents/reindex", {}),
                       ("/console/documents/publish-drafts", {})]:
        assert env.client.post(path, data={"csrf_token": csrf, **data}).status_code == 403
    assert upload(env, csrf, "dog.md", DOG.format(days=1).encode()).status_code == 403
    assert "gz-dog-licence" not in env.index.documents()


ANONYMOUS_ROUTES = [
    ("GET", "/console/documents"), ("GET", "/console/documents/new"), ("GET", "/console/documents/x"),
    ("GET", "/console/documents/x/v/1"), ("GET", "/console/documents/x/v/1.md"), ("GET", "/console/documents/jobs/1"),
    ("POST", "/console/documents/upload"), ("POST", "/console/documents/x/publish"),
    ("GET", "/api/v1/admin/documents"), ("POST", "/api/v1/admin/documents"), ("GET", "/api/v1/admin/documents/x"),
    ("GET", "/api/v1/admin/documents/x/versions/1"), ("POST", "/api/v1/admin/documents/x/versions"),
    ("POST", "/api/v1/admin/documents/x/publish"), ("POST", "/api/v1/admin/documents/x/withdraw"),
    ("POST", "/api/v1/admin/documents/x/rollback"), ("POST", "/api/v1/admin/documents/x/release"),
    ("GET", "/api/v1/admin/documents/x/events"), ("GET", "/api/v1/admin/jobs/1"),
]


@pytest.mark.parametrize(("method", "path"), ANONYMOUS_ROUTES)
def test_anonymous_requests_reach_no_document_route(env, method, path):
    response = env.client.request(method, path, follow_redirects=False)
    assert response.status_code in (401, 403), (path, response.status_code)
    wrong = env.client.request(method, path, headers={"Authorization": "Bearer wrong"}, follow_redirects=False)
    assert wrong.status_code == 401


def test_every_document_route_is_in_the_openapi_document(env):
    paths = env.client.get("/openapi.json").json()["paths"]
    api = {(m.upper(), p) for p, ops in paths.items() for m in ops if p.startswith("/api/v1/admin/documents")
           or p.startswith("/api/v1/admin/jobs")}
    expected = {(m, re.sub(r"/x(?=/|$)", "/{doc_id}", p).replace("/versions/1", "/versions/{version}")
                 .replace("/jobs/1", "/jobs/{job_id}")) for m, p in ANONYMOUS_ROUTES if p.startswith("/api")}
    assert api == expected


def test_the_api_uploads_publishes_and_reports_the_job(env):
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    created = env.client.post("/api/v1/admin/documents", headers=bearer,
                              files={"file": ("dog.md", DOG.format(days=5).encode())})
    assert created.status_code == 201, created.text
    draft = created.json()["drafts"][0]
    assert draft["doc_id"] == "gz-dog-licence" and draft["publishable"] is True
    version = env.client.get("/api/v1/admin/documents/gz-dog-licence/versions/1", headers=bearer).json()
    assert version["document"]["region"] == "广州市" and any(c["field"] == "phone" for c in version["chunks"])
    job = env.client.post("/api/v1/admin/documents/gz-dog-licence/publish", headers=bearer, json={"version": 1})
    assert job.status_code == 202
    settle(env)
    state = env.client.get(f"/api/v1/admin/jobs/{job.json()['id']}", headers=bearer).json()
    assert state["state"] == "done" and state["percent"] == 100
    listed = env.client.get("/api/v1/admin/documents", headers=bearer, params={"origin": "console"}).json()
    assert [d["doc_id"] for d in listed["documents"]] == ["gz-dog-licence"]
    events = env.client.get("/api/v1/admin/documents/gz-dog-licence/events", headers=bearer).json()
    assert [e["action"] for e in events] == ["publish", "upload"] and events[0]["actor"] == "admin-token"
    refused = env.client.post("/api/v1/admin/documents/gz-dog-licence/publish", headers=bearer, json={"version": 7})
    assert refused.status_code == 422 and refused.json()["message"] == "没有这个版本。"


def test_a_staff_session_uses_the_api_with_its_csrf_token(env):
    csrf = sign_in(env.client, "alice")
    cookie = {"Cookie": f"zhengwu_console={env.client.cookies.get('zhengwu_console')}"}
    assert env.client.get("/api/v1/admin/documents", headers=cookie).status_code == 200
    files = {"file": ("dog.md", DOG.format(days=5).encode())}
    assert env.client.post("/api/v1/admin/documents", headers=cookie, files=files).status_code == 403
    ok = env.client.post("/api/v1/admin/documents", headers={**cookie, "X-CSRF-Token": csrf}, files=files)
    assert ok.status_code == 201


def encrypted_pdf() -> bytes:
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bomb_docx() -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("word/document.xml", b"\0" * (64 * 1024 * 1024))  # 64 MB of zeros in ~64 KB
    return out.getvalue()


BAD_FILES = [
    ("big.pdf", b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10), "超过"),  # the limit in these tests is 1 MB
    ("broken.md", b"---\ndoc_id: [unclosed\ntitle: x\n---\n# x\n", "元数据"),
    ("not-a-docx.docx", b"this is not a zip", "不是 Word"),
    ("empty.txt", b"", "没有"),
    ("locked.pdf", encrypted_pdf(), "加密"),
    ("bomb.docx", zip_bomb_docx(), "大得异常"),
]


@pytest.mark.parametrize(("name", "data", "says"), BAD_FILES)
def test_a_bad_file_is_refused_in_chinese_and_nothing_published_is_lost(env, name, data, says):
    csrf = sign_in(env.client, "alice")
    before = env.index.store.doc_states()
    response = upload(env, csrf, name, data)
    assert response.status_code in (413, 422), response.text
    assert says in response.text and "Traceback" not in response.text
    assert env.index.store.doc_states() == before
    assert env.services.library.store.entries() == {}


def test_a_body_far_over_the_limit_is_cut_while_it_streams_in(env):
    csrf = sign_in(env.client, "alice")
    response = upload(env, csrf, "huge.pdf", b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024))
    assert response.status_code == 413 and response.headers["content-type"].startswith("text/html")
    assert "不能超过 1 MB" in response.text
    api = env.client.post("/api/v1/admin/documents", headers={"Authorization": f"Bearer {TOKEN}"},
                          files={"file": ("huge.pdf", b"0" * (3 * 1024 * 1024))})
    assert api.status_code == 413 and "不能超过 1 MB" in api.json()["message"]
    assert env.services.library.store.entries() == {}


def test_a_guide_without_its_item_name_is_previewed_but_not_published(env):
    csrf = sign_in(env.client, "alice")
    text = DOG.format(days=5).replace("item_name: 犬只登记\n", "").replace("- 事项名称：犬只登记\n", "")
    preview = env.client.get(upload(env, csrf, "dog.md", text.encode()).headers["location"])
    assert "必须修改" in preview.text and "事项名称" in preview.text
    refused = env.client.post("/console/documents/gz-dog-licence/publish", data={"csrf_token": csrf, "version": "1"})
    assert refused.status_code == 422 and "事项名称" in refused.text
    assert "gz-dog-licence" not in env.index.documents()


def test_the_guide_form_writes_its_fields_into_a_new_draft(env):
    csrf = sign_in(env.client, "alice")
    upload(env, csrf, "dog.md", DOG.format(days=5).encode())
    form = env.client.get("/console/documents/gz-dog-licence/edit")
    assert form.status_code == 200 and 'name="guide_申请材料"' in form.text and "犬主身份证" in form.text
    saved = env.client.post("/console/documents/gz-dog-licence/edit", data={
        "csrf_token": csrf, "guide_form": "1", "doc_id": "gz-dog-licence", "title": "犬只登记", "doc_type": "service_guide",
        "region": "广州市", "department": "广州市公安局", "status": "active", "updated": "2026-12-01",
        "source_url": "https://gov.example/dog", "expires": "", "guide_事项名称": "犬只登记",
        "guide_申请材料": "1. 犬主身份证\n2. 狂犬病免疫证明\n3. 犬只照片", "guide_办理时限": "3个工作日",
        "guide_咨询电话": "020-83118888", "guide_办理地点": "广州市各区公安分局"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].startswith("/console/documents/gz-dog-licence/v/2")
    version = env.services.library.store.version("gz-dog-licence", 2)
    assert "3. 犬只照片" in version.document.body and "## 办理地点\n广州市各区公安分局" in version.document.body
    assert version.document.updated == "2026-12-01" and version.origin == "form"
    bad = env.client.post("/console/documents/gz-dog-licence/edit", data={
        "csrf_token": csrf, "doc_id": "gz-dog-licence", "title": "犬只登记", "doc_type": "service_guide",
        "status": "active", "expires": "明年"})
    assert bad.status_code == 422 and "失效日期" in bad.text and 'value="犬只登记"' in bad.text
    assert env.services.library.store.entry("gz-dog-licence").latest.version == 2


def test_a_knowledge_base_upload_is_published_in_one_go(env):
    import json

    csrf = sign_in(env.client, "alice")
    lines = [json.dumps({"id": f"kb-{i}", "title": f"问答{i}", "text": f"第{i}个问题的官方答复。"}, ensure_ascii=False)
             for i in range(3)] + ['{"id": "kb-bad"}']
    response = upload(env, csrf, "kb.jsonl", "\n".join(lines).encode())
    assert response.status_code == 200 and "已解析为 3 份草稿" in response.text
    assert "以下 1 条未能导入" in response.text and "第 4 行" in response.text  # the bad record, said in Chinese
    listing = env.client.get("/console/documents?status=draft")
    assert "发布全部草稿（3 份）" in listing.text
    done = env.client.post("/console/documents/publish-drafts", data={"csrf_token": csrf})
    assert done.status_code == 200 and "已发布 3 份草稿" in done.text
    settle(env)
    assert {"kb-0", "kb-1", "kb-2"} <= env.index.documents().keys()
    forged = env.client.get("/console/documents?done=drafts_published&published=<b>x</b>&held=0")
    assert "已发布" not in forged.text  # counts only: a link cannot put words on the page
