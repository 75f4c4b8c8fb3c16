"""The widget's 好差评 in a real browser: under an answer the citizen picks one of the five levels (accessible buttons
with the Chinese labels); the level and the thumb it implies are shown pressed, survive a reload of the page, and
a 差评 opens the answer's rectification; 👍 still rates it 满意.

Headless Debian Chromium driven by Playwright, against the real app under uvicorn on 127.0.0.1 (a free port),
over the fixture index and a SQLite store in a temporary directory. A screenshot goes to tests/artifacts/.
"""

from __future__ import annotations

import pytest
from helpers import ARTIFACTS, app_for, make_assistant, serving
from helpers.browser import chromium, playwright_or_skip
from helpers.databases import sqlite_people

playwright_sync = playwright_or_skip()
expect = playwright_sync.expect

from zhengwu.review import ReviewStore  # noqa: E402

TIMEOUT_MS = 30_000
LABELS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(fixture_settings, fixture_index, tmp_path_factory):
    folder = tmp_path_factory.mktemp("widget-ratings")
    with sqlite_people(folder / "zhengwu.sqlite3") as people:
        settings = fixture_settings.model_copy(update={"rate_limit_per_minute": 0})
        app = app_for(settings, make_assistant(settings, fixture_index, people=people))
        with serving(app) as url:
            yield url, ReviewStore(people.engine)


def test_a_citizen_rates_an_answer_with_the_five_levels(fixture_settings, stack):
    base_url, store = stack
    with chromium(playwright_sync) as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(base_url + "/")
            page.evaluate("""() => {
                window.__zwAnswers = []; window.__zwRatings = [];
                document.addEventListener('zhengwu:answer', e => window.__zwAnswers.push(e.detail.answer));
                document.addEventListener('zhengwu:feedback', e => window.__zwRatings.push(e.detail));
            }""")
            page.locator(".zw-bubble").click()
            page.locator(".zw-input").fill("失能老人补贴去哪申请？")
            page.locator(".zw-input").press("Enter")
            page.wait_for_function("() => window.__zwAnswers.length > 0", timeout=TIMEOUT_MS)
            answer = page.evaluate("() => window.__zwAnswers[0]")
            assert answer["turn_id"]

            last = page.locator(".zw-msg-bot").last
            group = last.get_by_role("group", name="满意度评价（好差评）")
            buttons = [group.get_by_role("button", name=label, exact=True) for label in LABELS]
            for button in buttons:
                expect(button).to_be_visible()
                expect(button).to_have_attribute("aria-pressed", "false")
            with page.expect_response(lambda r: r.url.endswith("/api/v1/feedback")) as sent:
                buttons[4].click()  # 非常不满意
            assert sent.value.status == 200 and sent.value.request.post_data_json["level"] == 1
            expect(buttons[4]).to_have_attribute("aria-pressed", "true")
            expect(last.get_by_role("button", name="没帮助")).to_have_attribute("aria-pressed", "true")
            expect(last.locator(".zw-fb-note")).to_contain_text("感谢反馈")
            assert store.feedback_level(answer["turn_id"]) == 1
            assert store.rectification_of(answer["turn_id"]).state == "open"
            assert page.evaluate("() => window.__zwRatings") == [
                {"turn_id": answer["turn_id"], "value": -1, "level": 1}]
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "widget-ratings.png"))

            page.reload()  # the rating is kept with the message
            page.locator(".zw-bubble").click()
            last = page.locator(".zw-msg-bot").last
            expect(last.get_by_role("button", name="非常不满意", exact=True)).to_have_attribute("aria-pressed", "true")
            with page.expect_response(lambda r: r.url.endswith("/api/v1/feedback")):
                last.get_by_role("button", name="有帮助").click()  # 👍: 满意
            expect(last.get_by_role("button", name="满意", exact=True)).to_have_attribute("aria-pressed", "true")
            expect(last.get_by_role("button", name="非常不满意", exact=True)).to_have_attribute("aria-pressed", "false")
            assert store.feedback_level(answer["turn_id"]) == 4
            with page.expect_response(lambda r: r.url.endswith("/api/v1/feedback")):
                last.get_by_role("button", name="基本满意", exact=True).click()
            for name in ("有帮助", "没帮助"):  # 基本满意 is neither thumb
                expect(last.get_by_role("button", name=name)).to_have_attribute("aria-pressed", "false")
            assert store.feedback_level(answer["turn_id"]) == 3
            assert not errors, errors
        finally:
            context.close()
