"""Issue 16, the citizen's side: in the widget a citizen signed in through the city portal sees whether
personalisation is on, switches it, exports and deletes their data, each step confirmed in Chinese. Headless
Chromium against the real app (uvicorn on 127.0.0.1) with a people store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ARTIFACTS, REPO_ROOT, app_for, make_assistant, serving
from helpers.browser import chromium, playwright_or_skip
from helpers.databases import sqlite_people

from zhengwu.personal import sign_user_token

playwright_sync = playwright_or_skip()
expect = playwright_sync.expect
pytestmark = pytest.mark.slow
SECRET = "portal-secret-widget"
CITIZEN = "portal-citizen-0042"


def save_screenshot(page, name: str) -> None:
    """To tests/artifacts/, and to ZHENGWU_SAVE_SCREENSHOTS (e.g. docs/images) when set, as test_browser does."""
    import os
    import shutil

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))
    extra = os.environ.get("ZHENGWU_SAVE_SCREENSHOTS")
    if extra:
        (REPO_ROOT / extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / name, REPO_ROOT / extra / name)


@pytest.fixture(scope="module")
def served(tmp_path_factory, fixture_settings, fixture_index):
    settings = fixture_settings.model_copy(update={"rate_limit_per_minute": 0, "portal_secret": SECRET})
    with sqlite_people(tmp_path_factory.mktemp("widget-me") / "people.sqlite3") as people, \
            serving(app_for(settings, make_assistant(settings, fixture_index, people=people), people)) as url:
        yield url, people


def test_a_signed_in_citizen_switches_personalisation_exports_and_deletes(served):
    url, people = served
    token = sign_user_token(SECRET, CITIZEN, ttl_seconds=600)
    with chromium(playwright_sync) as browser:
        context = browser.new_context(locale="zh-CN", accept_downloads=True, viewport={"width": 1280, "height": 800})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        dialogs: list[str] = []

        def accept(dialog) -> None:
            dialogs.append(dialog.message)
            dialog.accept()

        page.on("dialog", accept)
        page.goto(url + "/")
        page.locator(".zw-bubble").click()
        account = page.locator(".zw-account-btn")
        expect(account).to_be_hidden()  # anonymous: nothing to manage
        page.evaluate("token => window.ZhengwuWidget.signIn(token)", token)
        expect(account).to_be_visible()

        account.click()
        note = page.locator(".zw-account-note")
        expect(note).to_have_text("个性化服务未开启。")
        switch = page.locator(".zw-switch")
        expect(switch).not_to_be_checked()
        switch.click()
        expect(note).to_contain_text("已开启个性化服务")
        save_screenshot(page, "widget-my-data.png")
        user = people.user_for("web", f"portal:{CITIZEN}", create=False)
        assert user is not None and people.has_consent(user, "personalisation")
        switch.click()
        expect(note).to_contain_text("已关闭个性化服务")
        assert not people.has_consent(user, "personalisation")

        with page.expect_download() as download:
            page.locator(".zw-export").click()
        exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert exported["user"]["id"] == user and download.value.suggested_filename == "我的信息.json"
        assert "敏感信息" in dialogs[-1]

        page.locator(".zw-delete").click()
        expect(page.locator(".zw-msg-bot").last).to_contain_text("您的个人信息已全部删除。")
        assert "无法恢复" in dialogs[-1]
        expect(account).to_be_hidden()
        assert people.user_for("web", f"portal:{CITIZEN}", create=False) is None
        context.close()
    assert not errors, errors
    # The token used is done with: the API refuses it now.
    import httpx

    assert httpx.post(f"{url}/api/v1/me/export", json={"user_token": token}).status_code == 401


def test_a_declined_confirmation_deletes_nothing(served):
    url, people = served
    token = sign_user_token(SECRET, "portal-citizen-0043", ttl_seconds=600)
    with chromium(playwright_sync) as browser:
        page = browser.new_page(locale="zh-CN")
        page.on("dialog", lambda dialog: dialog.dismiss())
        page.goto(url + "/")
        page.locator(".zw-bubble").click()
        page.evaluate("token => window.ZhengwuWidget.signIn(token)", token)
        page.locator(".zw-account-btn").click()
        switch = page.locator(".zw-switch")
        switch.click()
        expect(page.locator(".zw-account-note")).to_contain_text("已开启个性化服务")
        page.locator(".zw-delete").click()
        page.wait_for_timeout(300)
        user = people.user_for("web", "portal:portal-citizen-0043", create=False)
        assert user is not None and people.has_consent(user, "personalisation")
