"""Screenshots of answers in the chat widget, for the README: a guide, a law, a handoff.

    ZHENGWU_DATA_DIR=… python evaluation/widget_screenshots.py --out docs/images

Starts `zhengwu serve` on a free loopback port over the index of ZHENGWU_DATA_DIR (built first if empty), asks
each question in a fresh browser session of headless Debian Chromium (Playwright), and saves the open widget.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SHOTS = {
    "answer-guide.png": "居住证办理进度查询在哪里办，电话多少？",
    "answer-law.png": "生孩子产假有多少天？",
    "answer-handoff.png": "投诉：我们小区楼下的烧烤店每天营业到凌晨两点，油烟和噪音很大，多次找物业都没人管，希望有关部门尽快处理！",
}
CHROMIUM = "/usr/bin/chromium"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = _port()
    cli = Path(sys.executable).with_name("zhengwu")
    server = subprocess.Popen([str(cli), "serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox",
                                                                         "--disable-gpu"])
            for name, question in SHOTS.items():
                context = browser.new_context(viewport={"width": 520, "height": 1000}, device_scale_factor=1,
                                              locale="zh-CN")
                page = context.new_page()
                page.goto(base + "/")
                page.locator(".zw-bubble").click()
                page.locator(".zw-input").fill(question)
                page.locator(".zw-input").press("Enter")
                page.wait_for_selector(".zw-msg-bot[data-status=answered], .zw-msg-bot[data-status=refused], "
                                       ".zw-msg-bot[data-status=clarify]", timeout=30_000)
                page.wait_for_timeout(800)
                # The answer from its first line (the widget scrolls to the end of a long one).
                page.locator(".zw-msg-bot").last.evaluate("el => el.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(300)
                page.screenshot(path=str(args.out / name))
                print(f"{name}: {question}")
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
