"""End to end in a real browser: the demo page, the embeddable widget, and the streaming chat API.

Headless Debian Chromium driven by Playwright, against the real FastAPI app (uvicorn on 127.0.0.1, a free port)
over the fixture corpus. Screenshots go to tests/artifacts/; with ZHENGWU_SAVE_SCREENSHOTS=docs/images they are
also written there (relative to the repository root) as widget-desktop.png and widget-mobile.png.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from helpers import ARTIFACTS, REPO_ROOT, app_for, serving
from helpers.browser import chromium, playwright_or_skip

playwright_sync = playwright_or_skip()
expect = playwright_sync.expect

ROOT = REPO_ROOT
ANSWER_TIMEOUT_MS = 30_000

pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def base_url(fixture_settings, assistant):

    app = app_for(fixture_settings, assistant)
    with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium(playwright_sync) as browser:
        yield browser


def _new_page(browser, base_url, width=1280, height=800, scale=1):
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=scale,
                                  locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base_url + "/")
    expect(page.locator(".zw-bubble")).to_be_visible()
    return context, page, errors


@pytest.fixture
def page(browser, base_url):
    context, page, errors = _new_page(browser, base_url)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _open(page):
    page.locator(".zw-bubble").click()
    expect(page.locator(".zw-panel")).to_be_visible()
    expect(page.locator(".zw-input")).to_be_focused()


def _ask(page, question: str) -> dict:
    """Type a question, press Enter, wait until the widget has rendered the answer; return the `done` answer
    JSON and how many `delta` pieces streamed before it (from the widget's `zhengwu:answer` DOM event)."""
    page.evaluate("""() => {
        if (window.__zwAnswers) return;
        window.__zwAnswers = [];
        document.addEventListener('zhengwu:answer', e => window.__zwAnswers.push(e.detail));
    }""")
    before = page.evaluate("() => window.__zwAnswers.length")
    box = page.locator(".zw-input")
    box.fill(question)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/chat/stream")) as info:
        box.press("Enter")
    response = info.value
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    page.wait_for_function(f"() => window.__zwAnswers.length > {before}", timeout=ANSWER_TIMEOUT_MS)
    event = page.evaluate(f"() => window.__zwAnswers[{before}]")
    assert event["question"] == question
    answer = event["answer"]
    answer["_pieces"] = event["pieces"]
    expect(page.locator(".zw-msg-bot").last).to_have_attribute("data-status", answer["status"])
    return answer


def _save(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    extra = os.environ.get("ZHENGWU_SAVE_SCREENSHOTS")
    if extra:
        target = ROOT / extra
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / name)


@pytest.mark.parametrize("name, width, height, scale", [("desktop", 1280, 800, 1), ("mobile", 390, 844, 2)])
def test_streamed_answer_with_clickable_citations(browser, base_url, name, width, height, scale):
    context, page, errors = _new_page(browser, base_url, width, height, scale)
    try:
        _open(page)
        answer = _ask(page, "实验动物生产许可的咨询电话是多少？")
        assert answer["status"] == "answered" and answer["session_id"]
        assert answer["_pieces"] >= 1, "the answer should arrive as streamed `delta` pieces before `done`"
        assert set(answer) >= {"text", "status", "reason", "citations", "session_id", "latency_ms"}

        last = page.locator(".zw-msg-bot").last
        expect(last).to_contain_text("020-84106805", timeout=ANSWER_TIMEOUT_MS)
        expect(last).to_have_attribute("data-status", "answered")

        cites = last.locator("a.zw-cite")
        assert cites.count() >= 1
        for i in range(cites.count()):
            link = cites.nth(i)
            assert link.get_attribute("href").startswith(("http://", "https://"))
            assert link.get_attribute("target") == "_blank"
            assert set(link.get_attribute("rel").split()) >= {"noopener", "noreferrer"}
            n = int(link.inner_text().strip("[]"))
            assert link.get_attribute("href") == answer["citations"][n - 1]["source_url"]

        sources = last.locator(".zw-sources")
        expect(sources).to_contain_text("参考来源")
        first = answer["citations"][0]
        expect(sources.locator("a").first).to_have_text(f"{first['title']} · {first['section']}")

        panel = page.locator(".zw-panel").bounding_box()
        if width < 480:  # full screen on a phone
            assert panel["x"] == 0 and panel["y"] == 0
            assert panel["width"] == width and panel["height"] == height
        else:
            assert panel["width"] < width / 2
        _save(page, f"widget-{name}.png")
        assert not errors, f"JavaScript errors on the page: {errors}"
    finally:
        context.close()


def test_refused_question_offers_the_12345_hotline(page):
    _open(page)
    answer = _ask(page, "帮我写一首关于秋天的诗")
    assert answer["status"] == "refused"
    last = page.locator(".zw-msg-bot").last
    expect(last).to_have_attribute("data-status", "refused")
    expect(last.locator(".zw-hint")).to_have_text("如需人工服务，请拨打 12345 政务服务便民热线")


def test_follow_up_uses_the_same_session(page):
    _open(page)
    first = _ask(page, "弩的运输审批在哪里办理？")
    assert first["status"] == "answered" and first["session_id"]
    stored = page.evaluate("() => Object.keys(sessionStorage).map(k => sessionStorage.getItem(k)).join('')")
    assert first["session_id"] in stored

    with page.expect_request(lambda r: r.url.endswith("/api/v1/chat/stream")) as sent:
        follow = _ask(page, "电话呢？")
    assert json.loads(sent.value.post_data)["session_id"] == first["session_id"]
    assert follow["session_id"] == first["session_id"]
    assert follow["status"] == "answered"
    last = page.locator(".zw-msg-bot").last
    text = last.locator(".zw-text").inner_text()
    # "电话呢？" asks about the item the conversation is about: the first item of the first answer, its phone.
    [cited] = follow["citations"]
    assert (cited["title"], cited["region"]) == (first["citations"][0]["title"], first["citations"][0]["region"])
    phone = {"广州市": "020-12345", "广东省": "020-83110470"}[cited["region"]]  # the fixture guides' phones
    assert cited["section"] == "咨询电话" and f"- 咨询电话：{phone}" in text, text


def test_escape_closes_the_panel_and_returns_focus_to_the_bubble(page):
    bubble = page.locator(".zw-bubble")
    expect(bubble).to_have_attribute("aria-expanded", "false")
    bubble.focus()
    page.keyboard.press("Enter")  # a real button: the keyboard opens it
    expect(page.locator(".zw-panel")).to_be_visible()
    expect(page.locator(".zw-input")).to_be_focused()
    expect(bubble).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".zw-messages")).to_have_attribute("aria-live", "polite")

    page.locator(".zw-input").press("Shift+Enter")  # a newline, not a question
    expect(page.locator(".zw-msg-user")).to_have_count(0)

    page.keyboard.press("Escape")
    expect(page.locator(".zw-panel")).to_be_hidden()
    expect(bubble).to_be_focused()
    expect(bubble).to_have_attribute("aria-expanded", "false")


def _sse(*events) -> str:
    return "".join(f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n" for name, data in events)


def test_answer_text_is_never_html_and_only_http_links(page):
    hostile = '<img src=x onerror="window.__pwned=1">请带身份证[1]，地址见[2]。<b>粗体</b>'
    answer = {
        "text": hostile, "status": "answered", "reason": "", "session_id": "s1", "latency_ms": 1.0,
        "citations": [
            {"n": 1, "title": "<i>甲</i>", "section": "申请材料", "source_url": "javascript:alert(1)",
             "snippet": "", "region": "广州市", "doc_type": "service_guide"},
            {"n": 2, "title": "乙", "section": "办理地点", "source_url": "https://example.gov.cn/b",
             "snippet": "", "region": "广州市", "doc_type": "service_guide"},
        ],
    }
    page.route("**/api/v1/chat/stream", lambda route: route.fulfill(
        status=200, content_type="text/event-stream",
        body=_sse(("delta", {"text": hostile[:20]}), ("delta", {"text": hostile[20:]}), ("done", answer))))
    _open(page)
    page.locator(".zw-input").fill("测试")
    page.locator(".zw-input").press("Enter")
    last = page.locator(".zw-msg-bot").last
    expect(last).to_have_attribute("data-status", "answered")
    expect(last.locator(".zw-text")).to_have_text(hostile)
    assert last.locator("img, b, i").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    links = last.locator("a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs and all(h == "https://example.gov.cn/b" for h in hrefs), hrefs  # [1] is javascript: -> text
    expect(last.locator(".zw-sources")).to_contain_text("<i>甲</i> · 申请材料")


@pytest.mark.parametrize("kind, expected", [
    ("429", "请求过于频繁，请稍后再试"),
    ("500", "服务暂时不可用，请稍后再试"),
    ("network", "网络连接异常"),
    ("error-event", "抱歉，处理您的问题时出错了"),
])
def test_errors_are_explained_in_chinese(page, kind, expected):
    def handle(route):
        if kind == "429":
            route.fulfill(status=429, headers={"Retry-After": "12"}, content_type="application/json",
                          body=json.dumps({"message": "请求过于频繁，请稍后再试。", "detail": "rate limit exceeded"}))
        elif kind == "500":
            route.fulfill(status=503, content_type="application/json", body="{}")
        elif kind == "network":
            route.abort("connectionrefused")
        else:
            route.fulfill(status=200, content_type="text/event-stream",
                          body=_sse(("error", {"message": "Traceback: boom"})))

    page.route("**/api/v1/chat/stream", handle)
    _open(page)
    page.locator(".zw-input").fill("实验动物生产许可的咨询电话是多少？")
    page.locator(".zw-input").press("Enter")
    last = page.locator(".zw-msg-bot").last
    expect(last).to_have_attribute("data-status", "error")
    expect(last).to_contain_text(expected)
    if kind == "429":
        expect(last).to_contain_text("12 秒")
    expect(page.locator(".zw-send")).to_be_enabled()  # the widget recovers
