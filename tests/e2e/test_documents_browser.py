"""Issue 16, the staff side: an administrator uploads a new guide as a PDF, previews its chunks and publishes it;
a citizen asking in the widget is then answered from it, with its citation, within 30 s of publishing; a new
version changes the answer and a roll-back restores the earlier one. A reviewer cannot publish (403) and an
anonymous request reaches no document route. Headless Chromium against the real app (uvicorn on 127.0.0.1),
with a people store and an index of its own (the PDF itself is printed by Chromium)."""

from __future__ import annotations

import re
import shutil
import time

import pytest
from helpers import ARTIFACTS, FIXTURE_CORPUS, REPO_ROOT, app_for, build_index, make_assistant, make_settings, serving
from helpers.browser import chromium, playwright_or_skip
from helpers.databases import sqlite_people

from zhengwu.review import ReviewStore

playwright_sync = playwright_or_skip()
expect = playwright_sync.expect
pytestmark = pytest.mark.slow
PASSWORD = "correct-horse-battery"
PUBLISHED_WITHIN_S = 30
GUIDE_HTML = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>犬只登记办事指南</title>
<style>body {{ font-family: 'Noto Sans CJK SC', sans-serif; }}</style></head><body>
<h1>犬只登记</h1>
<h2>基本信息</h2><p>事项名称：犬只登记</p><p>实施主体：广州市公安局</p>
<h2>申请材料</h2>{materials}
<h2>办理时限</h2><p>{days}个工作日</p>
<h2>办理地点</h2><p>广州市各区公安分局犬类管理窗口</p>
<h2>咨询电话</h2><p>020-83118888</p>
</body></html>"""


def guide_pdf(browser, materials: list[str], days: int) -> bytes:
    page = browser.new_page()
    page.set_content(GUIDE_HTML.format(materials="".join(f"<p>{i}. {m}</p>" for i, m in enumerate(materials, 1)),
                                       days=days))
    data = page.pdf()
    page.close()
    return data


def save_screenshot(page, name: str) -> None:
    import os

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    extra = os.environ.get("ZHENGWU_SAVE_SCREENSHOTS")
    if extra:
        (REPO_ROOT / extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / name, REPO_ROOT / extra / name)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("documents-browser")
    corpus = root / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    settings = make_settings(root / "data", corpus_dir=corpus, rate_limit_per_minute=0,
                             console_secret="documents-browser-secret-0123456789")
    index = build_index(settings, corpus)
    with sqlite_people(root / "people.sqlite3") as people:
        reviews = ReviewStore(people.engine)
        reviews.add_staff("alice", PASSWORD, "admin")
        reviews.add_staff("bob", PASSWORD, "reviewer")
        app = app_for(settings, make_assistant(settings, index, people=people), people)
        with serving(app) as url:
            yield url, app.state.zhengwu.services
    index.close()


def sign_in(page, url: str, username: str) -> None:
    page.goto(url + "/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator(".me-name")).to_have_text(username)


def wait_for_index(page) -> None:
    """The page's job list polls the background re-index; done when it says 已完成."""
    expect(page.locator(".job").first.locator(".job-state")).to_have_text("已完成", timeout=PUBLISHED_WITHIN_S * 1000)


def ask(page, question: str):
    box = page.locator(".zw-input")
    box.fill(question)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/chat/stream")):
        box.press("Enter")
    answer = page.locator(".zw-msg-bot").last
    expect(answer).to_have_attribute("data-status", re.compile("answered|refused|clarify"), timeout=30_000)
    return answer


def upload(page, url: str, pdf: bytes) -> None:
    page.goto(url + "/console/documents")
    page.get_by_role("link", name="上传文件").click()
    page.locator("input[type=file]").set_input_files({"name": "犬只登记.pdf", "mimeType": "application/pdf", "buffer": pdf})
    page.get_by_label("地区").fill("广州市")
    page.get_by_label("部门").fill("广州市公安局")
    page.get_by_label("事项名称").fill("犬只登记")
    page.get_by_role("button", name="上传并预览").click()
    expect(page.locator("h2", has_text="切分结果")).to_be_visible()


def test_an_admin_publishes_a_pdf_guide_and_rolls_it_back(served):
    url, services = served
    with chromium(playwright_sync) as browser:
        first_pdf = guide_pdf(browser, ["犬主身份证", "狂犬病免疫证明"], days=5)
        second_pdf = guide_pdf(browser, ["犬主身份证", "狂犬病免疫证明", "犬只正面照片"], days=3)
        staff = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        console = staff.new_page()
        errors: list[str] = []
        console.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(console, url, "alice")

        upload(console, url, first_pdf)
        chunks = console.locator(".chunk")
        expect(chunks.filter(has_text="狂犬病免疫证明")).to_have_count(1)
        expect(chunks.filter(has_text="狂犬病免疫证明").locator(".pill")).to_have_text("申请材料")
        expect(console.locator(".problem-blocking")).to_have_count(0)
        save_screenshot(console, "console-document-preview.png")
        console.get_by_role("button", name="发布此版本").click()
        published_at = time.monotonic()
        expect(console.locator(".notice-ok")).to_contain_text("已提交发布")
        wait_for_index(console)

        citizen = browser.new_context(locale="zh-CN").new_page()
        citizen.goto(url + "/")
        citizen.locator(".zw-bubble").click()
        answer = ask(citizen, "广州办犬只登记要带什么材料？")
        expect(answer).to_contain_text("狂犬病免疫证明")
        expect(answer.locator(".zw-sources")).to_contain_text("犬只登记")
        assert time.monotonic() - published_at < PUBLISHED_WITHIN_S
        expect(ask(citizen, "犬只登记要多久办好？")).to_contain_text("5个工作日")

        upload(console, url, second_pdf)  # the same file name: the next version of the same document
        expect(console.locator(".diff-added").filter(has_text="犬只正面照片")).to_have_count(1)
        console.get_by_role("button", name="发布此版本").click()
        wait_for_index(console)
        expect(ask(citizen, "犬只登记现在要多久办好？")).to_contain_text("3个工作日")

        console.get_by_role("row", name=re.compile("第 1 版")).get_by_role("button", name="回滚到此版").click()
        expect(console.locator(".notice-ok")).to_contain_text("已回滚")
        wait_for_index(console)
        expect(ask(citizen, "犬只登记要多久？")).to_contain_text("5个工作日")
        trail = console.locator(".events")
        expect(trail).to_contain_text("回滚")
        expect(trail).to_contain_text("alice")
        save_screenshot(console, "console-document-history.png")
        console.goto(url + "/console/documents")
        save_screenshot(console, "console-documents.png")
        assert errors == []

        # A reviewer reads but cannot publish; the upload form is refused too.
        reviewer = browser.new_context(locale="zh-CN").new_page()
        sign_in(reviewer, url, "bob")
        doc_id = services.library.store.entries().popitem()[0]
        reviewer.goto(url + f"/console/documents/{doc_id}")
        expect(reviewer.get_by_role("button", name="回滚到此版")).to_have_count(0)
        csrf = reviewer.locator("input[name=csrf_token]").first.get_attribute("value")
        refused = reviewer.request.post(url + f"/console/documents/{doc_id}/publish",
                                        form={"csrf_token": csrf, "version": "2"})
        assert refused.status == 403 and "管理员" in refused.text()
        assert reviewer.goto(url + "/console/documents/new").status == 403

        # Anonymous: no document route answers.
        anonymous = browser.new_context().request
        for path in ("/console/documents", f"/console/documents/{doc_id}", "/api/v1/admin/documents",
                     f"/api/v1/admin/documents/{doc_id}"):
            assert anonymous.get(url + path).status == 401, path
        assert anonymous.post(url + f"/console/documents/{doc_id}/publish", form={"version": "2"}).status == 401
