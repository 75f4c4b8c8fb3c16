"""好差评 in the console, in a real browser: a citizen's 差评 appears under 好差评 with its counts; an administrator
opens the rectification and assigns it; the owner writes the 整改措施 and the 回访; the turn goes into the test set.

Headless Debian Chromium driven by Playwright, against the real app under uvicorn on 127.0.0.1 (a free port),
over the fixture index and a SQLite store in a temporary directory. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from helpers import ARTIFACTS, app_for, make_assistant, serving
from helpers.browser import chromium, playwright_or_skip
from helpers.databases import sqlite_people

playwright_sync = playwright_or_skip()
expect = playwright_sync.expect

from zhengwu.review import ReviewStore  # noqa: E402

PASSWORD = "correct-horse-battery"
QUESTION = "失能老人补贴去哪申请？"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(fixture_settings, fixture_index, tmp_path_factory):
    folder = tmp_path_factory.mktemp("console-ratings")
    with sqlite_people(folder / "zhengwu.sqlite3") as people:
        store = ReviewStore(people.engine)
        store.add_staff("wang.fang", PASSWORD, "admin")
        store.add_staff("zhao.lei", PASSWORD, "reviewer")
        settings = fixture_settings.model_copy(update={"rate_limit_per_minute": 0, "admin_token": "ratings-token"})
        app = app_for(settings, make_assistant(settings, fixture_index, people=people))
        with serving(app) as url:
            yield url, store


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _sign_in(page, base_url: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(base_url + "/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="对话记录")).to_be_visible()


def test_a_poor_rating_is_rectified_and_revisited_in_the_console(stack):
    base_url, store = stack
    answer = _post(f"{base_url}/api/v1/chat", {"question": QUESTION})
    _post(f"{base_url}/api/v1/feedback", {"turn_id": answer["turn_id"], "session_id": answer["session_id"], "level": 1})
    liked = _post(f"{base_url}/api/v1/chat", {"question": "实验动物生产许可的咨询电话是多少？"})
    _post(f"{base_url}/api/v1/feedback", {"turn_id": liked["turn_id"], "session_id": liked["session_id"], "level": 5})
    with chromium(playwright_sync) as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            _sign_in(page, base_url, "wang.fang")
            page.get_by_role("link", name="好差评").click()
            expect(page.get_by_role("heading", name="好差评", exact=True)).to_be_visible()
            expect(page.locator("tfoot")).to_contain_text("好评率 50.0%")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "console-ratings.png"))
            page.get_by_role("link", name=QUESTION).click()
            expect(page.get_by_role("heading", name="差评整改")).to_be_visible()
            expect(page.locator(".owner")).to_have_text("未分配")
            page.locator("form.owner-form select").select_option("zhao.lei")
            page.get_by_role("button", name="保存负责人").click()
            expect(page.locator(".notice-ok")).to_have_text("负责人已更新。")
            expect(page.locator(".owner")).to_have_text("zhao.lei")
            here = page.url.split("?")[0]

            _sign_in(page, base_url, "zhao.lei")
            page.goto(here)
            page.get_by_label("整改措施", exact=True).fill("补充了申请地点（户籍所在地街道办事处）和审核时限。")
            page.get_by_role("button", name="提交整改").click()
            expect(page.locator(".notice-ok")).to_contain_text("整改措施已提交")
            page.locator("label.choice", has_text="满意").first.click()
            page.get_by_label("回访情况", exact=True).fill("电话回访，群众表示满意。")
            page.get_by_role("button", name="提交回访").click()
            expect(page.locator(".notice-ok")).to_contain_text("整改办结")
            page.get_by_role("button", name="加入测试集").click()
            expect(page.locator(".notice-ok")).to_contain_text("已加入测试集")
            expect(page.get_by_role("button", name="已加入测试集")).to_be_disabled()
            expect(page.locator(".events li")).to_have_count(4)  # opened, assigned, rectified, revisited
            page.screenshot(path=str(ARTIFACTS / "console-rectification.png"), full_page=True)
            item = store.rectification_of(answer["turn_id"])
            assert (item.state, item.owner, item.revisit_result) == ("revisited", "zhao.lei", "satisfied")
            assert store.test_case(answer["turn_id"]) is not None
            assert not errors, errors
        finally:
            context.close()
