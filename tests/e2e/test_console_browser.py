"""The whole review loop in a real browser: a citizen gets a poor answer in the widget and rates it 👎; a staff
member signs in to the console, opens the conversation, rates the answer wrong (retrieval miss), writes the
correct answer citing a corpus document and publishes it; the citizen asking again (or in other words) gets the
corrected answer with its source; withdrawing it restores the normal answer.

Headless Debian Chromium driven by Playwright, against the real app under uvicorn on 127.0.0.1 (a free port),
over the fixture index and a SQLite store in a temporary directory. Screenshots go to tests/artifacts/; with
ZHENGWU_SAVE_SCREENSHOTS=docs/images they are also written there as console-list.png, console-detail.png and
console-curated.png (1280×800).
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from pathlib import Path

import pytest
from helpers import ARTIFACTS, REPO_ROOT, app_for, make_assistant, serving
from helpers.browser import chromium, playwright_or_skip

playwright_sync = playwright_or_skip()
expect = playwright_sync.expect

from zhengwu.db import make_engine, upgrade  # noqa: E402
from zhengwu.personal import PeopleStore  # noqa: E402
from zhengwu.pii import mask_pii  # noqa: E402
from zhengwu.review import ReviewStore, Source  # noqa: E402

ROOT = REPO_ROOT
TIMEOUT_MS = 30_000
MAX_SCREENSHOT_BYTES = 300_000

STAFF, PASSWORD = "wang.fang", "correct-horse-battery"
MISSED = "失能老人补贴去哪申请？"  # answered by quoting the fixture policy; staff write a fuller answer
PARAPHRASE = "在哪里申请失能老人补贴？"
CORRECTED = ("失能老人可申请居家养老服务补贴：由申请人向户籍所在地街道办事处提出申请，"
             "街道办事处应当在十个工作日内完成审核。")
SOURCE_TITLE = "广州市居家养老服务补贴办法（测试样例）"
ELDERLY = "fixture-policy-elderly-care"
OTHER_QUESTIONS = [  # other citizens, so the conversation list looks like a working day
    ("实验动物生产许可的咨询电话是多少？", None),
    ("弩的运输审批需要什么材料？", "广州市"),
    ("居家养老服务补贴每月多少钱？", None),
    ("上海市居民身份证在哪里办？", None),
    ("往来台湾通行证商务签注办证进度查询的咨询电话是多少？", None),
    ("帮我写一首关于秋天的诗", None),
    ("无线电频率使用许可遗失了怎么补办？", None),
    ("老人护理补贴在哪里申请？", None),
]

pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def stack(fixture_settings, fixture_index, tmp_path_factory):
    """The app under uvicorn with a fresh SQLite store; yields (base url, review store, people store)."""
    folder = tmp_path_factory.mktemp("console-browser")
    engine = make_engine(f"sqlite:///{folder / 'zhengwu.sqlite3'}")
    upgrade(engine)
    people = PeopleStore(engine, mask=mask_pii)
    store = ReviewStore(engine)
    store.add_staff(STAFF, PASSWORD, "admin")
    settings = fixture_settings.model_copy(update={"rate_limit_per_minute": 0, "admin_token": "browser-test-token"})
    app = app_for(settings, make_assistant(settings, fixture_index, people=people))
    with serving(app) as url:
        yield url, store, people
    engine.dispose()


@pytest.fixture(scope="module")
def browser():
    with chromium(playwright_sync) as browser:
        yield browser


def _context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def _ask(page, question: str) -> dict:
    """Ask through the widget and return the final answer JSON (from its `zhengwu:answer` event)."""
    page.evaluate("""() => {
        if (window.__zwAnswers) return;
        window.__zwAnswers = [];
        document.addEventListener('zhengwu:answer', e => window.__zwAnswers.push(e.detail.answer));
    }""")
    before = page.evaluate("() => window.__zwAnswers.length")
    box = page.locator(".zw-input")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"() => window.__zwAnswers.length > {before}", timeout=TIMEOUT_MS)
    answer = page.evaluate(f"() => window.__zwAnswers[{before}]")
    expect(page.locator(".zw-msg-bot").last).to_have_attribute("data-status", answer["status"])
    return answer


def _save(page, name: str, docs: bool = True) -> Path:
    """Screenshot to tests/artifacts/ and, with ZHENGWU_SAVE_SCREENSHOTS and ``docs``, to that folder too."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    assert path.stat().st_size < MAX_SCREENSHOT_BYTES, f"{name} is {path.stat().st_size} bytes"
    extra = os.environ.get("ZHENGWU_SAVE_SCREENSHOTS")
    if extra and docs:
        target = ROOT / extra
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / name)
    return path


def _seed(base_url: str, store: ReviewStore) -> None:
    import json

    for question, region in OTHER_QUESTIONS:
        body = json.dumps({"question": question, "region": region}).encode()
        request = urllib.request.Request(f"{base_url}/api/v1/chat", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            answer = json.loads(resp.read())
        if question.startswith("实验动物"):
            store.add_review(answer["turn_id"], "console:li.na", "correct",
                             sources=[Source("11440000006939801C244010300100103", "实验动物生产许可(新申请)")])


def test_staff_correct_a_missed_answer_and_citizens_get_it(browser, stack):
    base_url, store, _people = stack
    _seed(base_url, store)
    citizen_context, citizen, citizen_errors = _context(browser)
    staff_context, staff, staff_errors = _context(browser)
    try:
        # -- a citizen asks; the answer quotes the policy's 申请方式; they still rate it 👎 -----------------
        citizen.goto(base_url + "/")
        citizen.locator(".zw-bubble").click()
        first = _ask(citizen, MISSED)
        assert first["status"] == "answered" and first["path"] == "composer" and first["turn_id"]
        last = citizen.locator(".zw-msg-bot").last
        helpful, unhelpful = last.get_by_role("button", name="有帮助"), last.get_by_role("button", name="没帮助")
        expect(helpful).to_have_attribute("aria-pressed", "false")
        with citizen.expect_response(lambda r: r.url.endswith("/api/v1/feedback")) as sent:
            unhelpful.click()
        assert sent.value.status == 200
        expect(unhelpful).to_have_attribute("aria-pressed", "true")
        expect(last.locator(".zw-fb-note")).to_contain_text("感谢反馈")
        _save(citizen, "widget-feedback.png", docs=False)
        assert store.feedback(first["turn_id"]) == -1

        # -- staff sign in and open the conversation ------------------------------------------------------
        staff.goto(base_url + "/console")
        expect(staff.get_by_role("heading", name="登录审核台")).to_be_visible()
        staff.get_by_label("用户名").fill(STAFF)
        staff.get_by_label("密码", exact=True).fill(PASSWORD)
        staff.get_by_role("button", name="登录", exact=True).click()
        expect(staff.get_by_role("heading", name="对话记录")).to_be_visible()
        row = staff.locator("tr", has=staff.get_by_role("link", name=MISSED))
        expect(row).to_contain_text("已回答")
        expect(row).to_contain_text("不满意")  # 👎 is recorded as the 好差评 level 不满意
        row.get_by_role("link", name=MISSED).click()
        expect(staff.get_by_role("heading", name="对话详情")).to_be_visible()
        turn = staff.locator(f"#turn-{first['turn_id']}")
        expect(turn.locator(".q")).to_contain_text(MISSED)
        expect(turn.locator(".retrieved")).to_contain_text(SOURCE_TITLE)

        # -- rate it wrong (retrieval miss), correct it, cite the document -----------------------------------
        form = turn.locator("form.review-form")
        form.locator("label.choice", has_text="错误").click()
        form.locator("label.choice", has_text="检索遗漏").click()
        form.get_by_label("更正后的答案").fill(CORRECTED)
        form.locator("label.source-option", has_text=SOURCE_TITLE).locator("input").check()
        form.get_by_label("章节").fill("申请方式")
        form.get_by_label("其他文件").fill(ELDERLY)
        form.get_by_label("答案必须包含（可选）").fill("街道办事处、十个工作日")
        document = turn.locator("details.doc", has_text=SOURCE_TITLE)
        if not document.evaluate("el => el.open"):  # a cited document opens by itself
            document.locator("summary").click()  # the retrieved document's text: where the answer was
        expect(document.locator(".chunk").first).to_be_visible()
        expect(document).to_contain_text("申请人向户籍所在地街道办事处提出申请")
        staff.evaluate("() => window.scrollTo(0, 0)")
        _save(staff, "console-detail.png")
        form.get_by_role("button", name="保存评价").click()
        expect(staff.locator(".notice-ok")).to_have_text("评价已保存。")
        [review] = store.conversation(first["session_id"])[0].reviews
        assert (review.rating, review.reasons, review.corrected_answer) == ("wrong", ["retrieval_miss"], CORRECTED)
        assert (ELDERLY, "申请方式") in {(s.doc_id, s.section) for s in review.sources}

        # -- publish the correction as a curated answer ----------------------------------------------------
        publish = staff.locator(f"#turn-{first['turn_id']} form.publish-form")
        expect(publish.get_by_label("答案")).to_have_value(CORRECTED)  # prefilled from the review
        for option in publish.locator("label.source-option").all():  # only the section the answer rests on
            box = option.locator("input")
            if "申请方式" in option.inner_text():
                box.check()
            else:
                box.uncheck()
        publish.get_by_role("button", name="发布标准答案").click()
        expect(staff.locator(".notice-ok")).to_contain_text("已发布为标准答案")

        # -- the citizen asks again, and in other words: the corrected answer with its source ----------------
        for question in (MISSED, PARAPHRASE):
            again = _ask(citizen, question)
            assert again["status"] == "answered" and again["path"] == "curated:v1", again
            assert again["text"] == CORRECTED
            assert [(c["title"], c["section"]) for c in again["citations"]] == [(SOURCE_TITLE, "申请方式")]
            bubble = citizen.locator(".zw-msg-bot").last
            expect(bubble.locator(".zw-text")).to_have_text(CORRECTED)
            expect(bubble.locator(".zw-sources a").first).to_have_text(f"{SOURCE_TITLE} · 申请方式")

        # -- the conversation list now shows the review, the feedback and the curated answers ----------------
        staff.goto(base_url + "/console/conversations")
        expect(staff.locator("tbody tr").first).to_contain_text("标准答案 第1版")
        _save(staff, "console-list.png")

        # -- a second version replaces the first; withdrawing it restores the normal path --------------------
        v2 = store.publish(MISSED, CORRECTED + "申请时请携带身份证件。", [Source(ELDERLY, SOURCE_TITLE, "申请方式")],
                           "console:li.na")
        assert v2.version == 2 and _ask(citizen, MISSED)["path"] == "curated:v2"
        staff.goto(base_url + "/console/curated")
        entry = staff.locator("section.curated", has_text=MISSED)
        expect(entry).to_contain_text("第 2 版")
        expect(entry).to_contain_text("第 1 版")
        expect(entry.locator("tbody tr").first).to_contain_text("使用中")
        expect(entry.locator("tbody tr").nth(1)).to_contain_text("已撤回")
        _save(staff, "console-curated.png")
        entry.get_by_role("button", name="撤回").click()
        expect(staff.locator(".notice-ok")).to_contain_text("标准答案已撤回")
        assert [c.status for c in store.curated_list()] == ["withdrawn", "withdrawn"]
        after = _ask(citizen, MISSED)
        assert (after["status"], after["path"], after["text"]) == (first["status"], "composer", first["text"])

        assert not citizen_errors and not staff_errors, (citizen_errors, staff_errors)
    finally:
        citizen_context.close()
        staff_context.close()


def test_console_pages_render_without_errors_for_a_reviewer(browser, stack):
    base_url, store, _people = stack
    if store.staff("zhao.lei") is None:
        store.add_staff("zhao.lei", PASSWORD, "reviewer")
    context, page, errors = _context(browser)
    try:
        page.goto(base_url + "/console/login")
        _save(page, "console-login.png", docs=False)
        page.get_by_label("用户名").fill("zhao.lei")
        page.get_by_label("密码", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.get_by_role("heading", name="对话记录")).to_be_visible()
        expect(page.get_by_role("link", name="人员管理")).to_have_count(0)  # not an administrator
        for path, heading in (("/console/gaps", "知识缺口"), ("/console/curated", "标准答案"), ("/console/export", "导出")):
            page.goto(base_url + path)
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            _save(page, f"console-{path.rsplit('/', 1)[-1]}.png", docs=path == "/console/gaps")
        response = page.goto(base_url + "/console/staff")
        assert response.status == 403
        assert not errors, errors
    finally:
        context.close()
