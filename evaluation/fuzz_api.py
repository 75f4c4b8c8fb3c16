"""Fuzz the HTTP API: schemathesis from /openapi.json, then hostile requests; no request may get a 5xx.

Starts `zhengwu serve` (2 workers, the machine's PostgreSQL when --database-url is given, else SQLite) on the
small fixture corpus, with the staff token so that staff routes are exercised past authentication too, the
WeChat (plaintext mode), WeCom and Telegram webhook channels configured (Telegram against a fake Bot API on
127.0.0.1, so nothing leaves the machine), and a 5 s body timeout.

Phase 1 runs `schemathesis run` against /openapi.json (--examples per operation). Phase 2, "hostile requests"
(--hostile N, default 2400), sends N requests built by ``random.Random(--seed)`` with httpx (and a raw socket for
Content-Length lies) to POST /api/v1/chat, /api/v1/chat/stream, /api/v1/feedback, /api/v1/me/{consent,export,
delete,logout}, GET/POST /wechat and /wecom, POST /telegram/webhook, GET /s/<code>, /api/v1/admin/* (bearer
token) and the review console (signed in with the admin token through /console/login/token: conversation list
pages, conversations, turn reviews, curated answers, withdrawals, sign-in forms). Bodies: valid-looking JSON
whose values are NaN, Infinity, 1e999, 2^31, 2^63, 2^64, 10^400 (and negatives), 5,000-digit integers, deep
nesting, lone surrogates, invalid UTF-8, control characters, 6 KB+ strings, ID-number-like strings, wrong types,
missing and extra fields, empty / null / top-level arrays and strings, wrong Content-Types; signed channel
callbacks carrying hostile XML; huge or odd path ids, page numbers and callback timestamps
(9223372036854775808, 1e9, ², -1, %00); chunked bodies, small and 1-5 MB (over the 64 KB limit: 413, or the
server closing the connection); Content-Length lies (408 after the body timeout, 400, 413).

A server error is a status >= 500, a timeout, or a connection error other than the server closing on a body it
refuses (too large or too slow); a request that meets a kept-alive connection the server has closed (uvicorn does
after an unhandled exception) is sent once more on a new one, and counted by what that one gets. Each is printed (method, path, first 120 bytes of the body sent, status) up to
20, then a table: requests, statuses and server errors per route. The server log is in the temporary directory
printed at start. Exit code 1 if schemathesis failed or any request got a server error.

With --database-url the run uses a scratch database created next to the one named (dropped afterwards), so a
database shared with other runs is neither disturbed nor disturbing; --reuse-database uses it as given.

    python evaluation/fuzz_api.py --examples 150 [--hostile 2400] [--skip-schemathesis] [--seed N] [--concurrency 4]
        [--workers 2] [--database-url postgresql+psycopg://root@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

from zhengwu.channels.wxcrypto import WXBizMsgCrypt, sha1_signature
from zhengwu.personal.portal import sign_user_token

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

ADMIN_TOKEN = "fuzz-token"
PORTAL_SECRET = "fuzz-portal"
WECHAT_TOKEN, WECHAT_APP_ID = "fuzzwechat", "wxf0000000000fuzz"
WECOM_TOKEN, WECOM_CORP_ID, WECOM_AGENT_ID = "fuzzwecom", "wwfuzz0000000000", "1000002"
WECOM_AES_KEY = base64.b64encode(hashlib.sha256(b"zhengwu fuzz").digest()).decode()[:43]
TELEGRAM_TOKEN, TELEGRAM_SECRET = "123456789:fuzz-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "fuzz_webhook_secret"
BODY_TIMEOUT = 5  # ZHENGWU_BODY_TIMEOUT_SECONDS for the fuzzed server: Content-Length lies end in 408 quickly
MAX_BODY = 64 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=150, help="schemathesis: max examples per operation")
    parser.add_argument("--hostile", type=int, default=2400, help="hostile requests after schemathesis")
    parser.add_argument("--skip-schemathesis", action="store_true", help="only the hostile requests")
    parser.add_argument("--concurrency", type=int, default=4, help="hostile requests in flight at once")
    parser.add_argument("--workers", type=int, default=2, help="zhengwu serve workers")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite in a temporary data dir)")
    parser.add_argument("--reuse-database", action="store_true",
                        help="use --database-url as given instead of a scratch database next to it")
    parser.add_argument("--corpus", default=str(ROOT / "tests" / "fixtures" / "corpus"))
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="zhengwu-fuzz-"))
    print(f"working directory (server log: serve.log): {tmp}", flush=True)
    with contextlib.ExitStack() as stack:
        fake_telegram = stack.enter_context(fake_bot_api())
        env = {**os.environ, "ZHENGWU_DATA_DIR": str(tmp / "data"), "ZHENGWU_CORPUS_DIR": args.corpus,
               "ZHENGWU_RATE_LIMIT_PER_MINUTE": "0", "ZHENGWU_ADMIN_TOKEN": ADMIN_TOKEN, "TQDM_DISABLE": "1",
               "ZHENGWU_PORTAL_SECRET": PORTAL_SECRET, "ZHENGWU_LOG_FORMAT": "json",
               "ZHENGWU_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
               "ZHENGWU_WECHAT_TOKEN": WECHAT_TOKEN, "ZHENGWU_WECHAT_APP_ID": WECHAT_APP_ID,
               "ZHENGWU_WECOM_TOKEN": WECOM_TOKEN, "ZHENGWU_WECOM_AES_KEY": WECOM_AES_KEY,
               "ZHENGWU_WECOM_CORP_ID": WECOM_CORP_ID, "ZHENGWU_WECOM_AGENT_ID": WECOM_AGENT_ID,
               "ZHENGWU_TELEGRAM_TOKEN": TELEGRAM_TOKEN, "ZHENGWU_TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
               "ZHENGWU_TELEGRAM_API_BASE": f"{fake_telegram}/bot"}
        if args.database_url:
            url = args.database_url if args.reuse_database else stack.enter_context(scratch_database(args.database_url))
            env["ZHENGWU_DATABASE_URL"] = url
        port = free_port()
        log = stack.enter_context((tmp / "serve.log").open("wb"))
        server = subprocess.Popen([str(BIN / "zhengwu"), "serve", "--port", str(port), "--workers",
                                   str(args.workers)], env=env, stdout=log, stderr=subprocess.STDOUT)
        stack.callback(stop, server)
        base = f"http://127.0.0.1:{port}"
        if not wait_ready(base):
            print("server did not become ready; see", tmp / "serve.log", file=sys.stderr)
            return 2
        ok = True
        if not args.skip_schemathesis:
            ok = run_schemathesis(base, env, tmp, args) and ok
        if args.hostile > 0:
            ok = Hostile(base, port, random.Random(args.seed), args.concurrency).run(args.hostile) and ok
        if server.poll() is not None:
            print(f"zhengwu serve exited with {server.returncode} during the run", file=sys.stderr)
            ok = False
        print("server log:", tmp / "serve.log")
        return 0 if ok else 1


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def wait_ready(base: str) -> bool:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A fresh PostgreSQL database on the server ``url`` names, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"zhengwu_fuzz_{os.getpid()}_{int(time.time())}"
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    print(f"scratch database {name} on {parsed.host}:{parsed.port or 5432}", flush=True)
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fake_bot_api() -> Iterator[str]:
    """A Telegram Bot API stand-in: getMe names the bot, every other method succeeds with a message."""
    bot = {"id": 123456789, "is_bot": True, "first_name": "Fuzz", "username": "fuzz_bot"}
    message = {"message_id": 1, "date": int(time.time()), "chat": {"id": 42, "type": "private"}, "from": bot,
               "text": "ok"}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            method = self.path.rsplit("/", 1)[-1]
            result = bot if method == "getMe" else True if method in ("sendChatAction", "setWebhook") else message
            body = json.dumps({"ok": True, "result": result}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST  # noqa: N815

        def log_message(self, *_args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- phase 1: schemathesis --------------------------------------------------------------------------------------


def run_schemathesis(base: str, env: dict, tmp: Path, args: argparse.Namespace) -> bool:
    report = tmp / "schemathesis.json"
    started = time.monotonic()
    result = subprocess.run(
        [str(BIN / "schemathesis"), "run", f"{base}/openapi.json", "--checks", "not_a_server_error",
         "-n", str(args.examples), "--seed", str(args.seed), "-H", f"Authorization: Bearer {ADMIN_TOKEN}",
         "--request-timeout", "30", "--report", "ndjson", "--report-ndjson-path", str(report)],
        env=env, capture_output=True, text=True,
    )
    seconds = time.monotonic() - started
    requests = server_errors = 0
    if report.exists():
        for line in report.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            for interaction in _interactions(event):
                requests += 1
                status = interaction["response"].get("status_code")
                if status is not None and status >= 500:
                    server_errors += 1
    print(result.stdout[-3000:])
    print(f"schemathesis: {requests} requests in {seconds:.0f} s, {server_errors} server errors "
          f"(schemathesis exit code {result.returncode})", flush=True)
    return server_errors == 0 and result.returncode == 0


def _interactions(event: dict):
    """Every recorded request/response pair in one NDJSON event, wherever schemathesis nests them."""
    if isinstance(event, dict):
        if isinstance(event.get("request"), dict) and isinstance(event.get("response"), dict):
            yield event
        for value in event.values():
            if isinstance(value, (dict, list)):
                yield from _interactions(value)
    elif isinstance(event, list):
        for value in event:
            yield from _interactions(value)


# -- phase 2: hostile requests ----------------------------------------------------------------------------------


class Raw(str):
    """JSON text put into a body as it is (NaN, 1e999, 10^400, an unterminated array...)."""


INVALID_UTF8 = "\x00@invalid-utf8@\x00"  # replaced by bytes that are not UTF-8 after encoding
NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "2147483648", "-2147483648", "2147483647",
           "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
           "-18446744073709551616", "1" + "0" * 400, "-1" + "0" * 400, "9" * 5000, "0", "-0", "1.5", "1e-999",
           "-1", "1E9", "0.0000001"]
STRINGS = ['"\\ud800"', '"\\udfff\\ud800x"', '"\\u0000"', '"\\u0001\\u001f\\u007f\\u0085\\u2028"',
           '"' + "办" * 6000 + '"', '"' + "a" * 7000 + '"', '"' + "身份证" * 2500 + '"',
           '"11010519491231002X"', '"440106199001011234"', '"身份证号 110105194912310021 手机 13800138000"',
           '"13800138000"', '""', '" "', '"\\n\\t\\r"', '"<script>alert(1)</script>"', '"../../etc/passwd"',
           '"%00"', '"²"', '"٣"', '"\\u202e"', '"\'; DROP TABLE turns; --"', "'single-quoted'", '"unterminated']
OTHERS = ["null", "true", "false", "[]", "{}", "[1,2,3]", '{"a":1}', '"1"', "[" * 10000 + "]" * 10000,
          '{"a":' * 3000 + "1" + "}" * 3000, "[" * 10000]
RAW_BAD = ["\"a\x01b\x1fc\"", "\"\ud800\"", "\"\udfff\"", f"\"{INVALID_UTF8}\""]
HUGE_IDS = ["9223372036854775808", "9223372036854775807", "2147483648", "4294967296", "1" + "0" * 400, "1e9",
            "1E9", "²", "٣", "-1", "0", "-0", "%00", "%2e%2e", "1.5", "0x10", "+1", " 1", "1%20", "NaN",
            "Infinity", "%ff%fe", "%C0%AF", "a" * 300, "%E2%80%AE1"]
CONTENT_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                 "multipart/form-data; boundary=zz", "application/json; charset=utf-16", "application/json; charset=bogus",
                 "application/xml", "application/octet-stream", "application/json, text/plain", "", "*/*",
                 "application/merge-patch+json", None]
QUESTIONS = ["怎么办理居住证？", "社保卡丢了怎么补办", "我的身份证号是110105194912310021，能查进度吗", "hello",
             "营业执照", "", "？", "投诉：路灯坏了"]


def to_json(value: object) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + to_json(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass").replace(INVALID_UTF8.encode(), b"\xff\xfe\xc3\x28\x80\xed\xa0\x80")


@dataclass
class Req:
    route: str  # the route template, for the table
    method: str
    path: str  # with the query string, already encoded
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: int = 0  # >0: sent chunked (transfer-encoding), this many bytes in all
    raw: bytes | None = None  # sent as is over a socket (Content-Length lies)
    cookies: bool = False  # the console client (signed in)
    refusable: bool = False  # the server may close the connection on it (too large / too slow)

    def preview(self) -> bytes:
        return (self.raw if self.raw is not None else self.body)[:120]

    def how(self) -> str:
        """How the body went: Content-Type and transfer."""
        sent = "raw socket" if self.raw is not None else f"chunked {self.chunks} B" if self.chunks else f"{len(self.body)} B"
        return f"{sent}, Content-Type {self.headers.get('Content-Type')!r}"


class Hostile:
    def __init__(self, base: str, port: int, rng: random.Random, concurrency: int) -> None:
        self.base, self.port, self.rng, self.concurrency = base, port, rng, concurrency
        self.api = httpx.Client(base_url=base, timeout=60)
        self.console = httpx.Client(base_url=base, timeout=60)
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.errors: list[tuple[str, str, bytes, str]] = []
        self.lock = threading.Lock()
        self.retried = 0  # requests sent again after a connection error
        self.unsent: list[str] = []  # requests httpx refused to send (not counted as server errors)
        self.wechat = WXBizMsgCrypt(WECHAT_TOKEN, None, WECHAT_APP_ID)
        self.wecom = WXBizMsgCrypt(WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP_ID)
        self.sessions: list[str] = []
        self.turns: list[int] = []
        self.titles: list[str] = []
        self.csrf = ""
        self.login_csrf = ""

    # -- set-up: real sessions, turns, a signed-in console, a curated answer -----------------------------------
    def setup(self) -> None:
        for question in QUESTIONS[:4]:
            response = self.api.post("/api/v1/chat", json={"question": question})
            if response.status_code == 200:
                data = response.json()
                self.sessions.append(data.get("session_id") or "")
                if data.get("turn_id"):
                    self.turns.append(data["turn_id"])
                self.titles += [c["title"] for c in data.get("citations", [])]
        page = self.console.get("/console/login")
        self.login_csrf = _csrf(page.text)
        signed = self.console.post("/console/login/token", data={"csrf_token": self.login_csrf, "token": ADMIN_TOKEN,
                                                                  "next": "/console/conversations"})
        listing = self.console.get("/console/conversations")
        self.csrf = _csrf(listing.text)
        print(f"set-up: {len(self.turns)} turns, console sign-in {signed.status_code}, "
              f"conversation list {listing.status_code}, CSRF token {'found' if self.csrf else 'MISSING'}", flush=True)
        if self.turns and self.titles:  # a curated answer to withdraw
            self.console.post("/console/curated", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                              data={"turn_id": str(self.turns[0]), "question": "怎么办理居住证？",
                                    "answer": "带身份证到派出所办理。", "extra_doc": self.titles[0]})
        fresh = self.console.get("/console/login")  # a new login form for the sign-in fuzzing
        self.login_csrf = _csrf(fresh.text) or self.login_csrf

    # -- value and body strategies ----------------------------------------------------------------------------
    def hostile_value(self) -> object:
        r = self.rng.random()
        if r < 0.35:
            return Raw(self.rng.choice(NUMBERS))
        if r < 0.7:
            return Raw(self.rng.choice(STRINGS))
        if r < 0.9:
            return Raw(self.rng.choice(OTHERS))
        return Raw(self.rng.choice(RAW_BAD))

    def mutate(self, value: object, everything: bool) -> object:
        """``value`` with one leaf (or every leaf) replaced by a hostile one."""
        if isinstance(value, dict) and value:
            keys = list(value)
            target = self.rng.choice(keys)
            return {k: (self.mutate(v, everything) if everything or k == target else v) for k, v in value.items()}
        if isinstance(value, list) and value:
            i = self.rng.randrange(len(value))
            return [self.mutate(v, everything) if everything or j == i else v for j, v in enumerate(value)]
        return self.hostile_value()

    def json_body(self, template: dict) -> tuple[bytes, str | None]:
        """A body for a JSON route and its Content-Type (None: no header)."""
        rng = self.rng
        kind = rng.choices(["valid", "field", "all", "missing", "extra", "duplicate", "toplevel", "bytes", "bom",
                            "utf16"], [10, 40, 10, 8, 8, 3, 10, 5, 3, 3])[0]
        if kind == "valid":
            text = to_json(template)
        elif kind == "field":
            text = to_json(self.mutate(template, False))
        elif kind == "all":
            text = to_json(self.mutate(template, True))
        elif kind == "missing":
            text = to_json({k: v for k, v in template.items() if rng.random() < 0.4})
        elif kind == "extra":
            extra = {rng.choice(["__proto__", "constructor", "x" * 200, "", "turn_id", "admin", "身份证"]):
                     self.hostile_value() for _ in range(rng.randint(1, 5))}
            extra.update({f"k{i}": i for i in range(rng.choice([0, 10, 2000]))})
            text = to_json({**template, **extra})
        elif kind == "duplicate":
            key = rng.choice(list(template))
            text = to_json(template)[:-1] + f',"{key}":' + to_json(self.hostile_value()) + "}"
        elif kind == "toplevel":
            text = rng.choice(["", "null", "[]", "{}", '"a string"', "123", "NaN", "-Infinity", "1e999", "true",
                               to_json([template]), to_json([template] * 3), " ", "\n", "[" * 10000, "{" * 10000,
                               '{"a":' * 10000, "\x00", "{}{}", to_json(template) + "garbage"])
        elif kind == "bytes":
            return bytes(rng.randrange(256) for _ in range(rng.choice([1, 16, 1000]))), "application/json"
        elif kind == "bom":
            return b"\xef\xbb\xbf" + encode(to_json(template)), "application/json"
        else:
            return to_json(template).encode("utf-16"), "application/json; charset=utf-16"
        content_type = rng.choice(CONTENT_TYPES) if rng.random() < 0.12 else "application/json"
        return encode(text), content_type

    def token(self) -> str:
        r = self.rng.random()
        if r < 0.7:
            return sign_user_token(PORTAL_SECRET, f"fuzz-user-{self.rng.randrange(40)}")
        if r < 0.8:
            return sign_user_token(PORTAL_SECRET, f"fuzz-user-{self.rng.randrange(40)}", ttl_seconds=-10)
        return self.rng.choice(["", "a.b.c", "x" * 511, "..", sign_user_token("wrong", "u"),
                                sign_user_token(PORTAL_SECRET, "\ud800".encode("utf-8", "surrogatepass").decode(
                                    "utf-8", "replace")), "²." + "9" * 30 + ".00"])

    def session(self) -> str | None:
        return self.rng.choice([*self.sessions, None, "", "x" * 64, "0" * 32, "../../"]) if self.sessions else None

    def turn(self) -> object:
        return self.rng.choice([*self.turns, 1, 2**31 - 1]) if self.turns else 1

    # -- the routes ---------------------------------------------------------------------------------------------
    def json_route(self, path: str, template: dict, headers: dict | None = None, route: str = "") -> Req:
        body, content_type = self.json_body(template)
        headers = dict(headers or {})
        if content_type is not None:
            headers["Content-Type"] = content_type
        if path != "/telegram/webhook" and self.rng.random() < 0.1 and self.sessions:
            headers["X-Session-Id"] = self.rng.choice([*self.sessions, "x" * 300, "%00", "²"])
        return Req(route or f"POST {path}", "POST", path, body, headers)

    def chat(self) -> Req:
        path = self.rng.choice(["/api/v1/chat", "/api/v1/chat/stream"])
        template = {"question": self.rng.choice(QUESTIONS), "session_id": self.session(), "region": "广州市",
                    "user_token": self.token(), "personalise": self.rng.choice([True, False])}
        return self.json_route(path, template)

    def feedback(self) -> Req:
        return self.json_route("/api/v1/feedback", {"turn_id": self.turn(), "value": self.rng.choice([1, -1]),
                                                    "session_id": self.session()})

    def me(self) -> Req:
        path = self.rng.choice(["/api/v1/me/consent", "/api/v1/me/export", "/api/v1/me/delete", "/api/v1/me/logout"])
        template: dict = {"user_token": self.token()}
        if path.endswith("consent"):
            template |= {"personalisation": self.rng.choice([True, False]), "reminders": self.rng.choice([True, None])}
        return self.json_route(path, template)

    def telegram(self) -> Req:
        rng = self.rng
        update = {"update_id": rng.randrange(1, 10**9), "message": {
            "message_id": rng.randrange(1, 10**6), "date": int(time.time()),
            "chat": {"id": 4200 + rng.randrange(5), "type": rng.choice(["private", "private", "group"])},
            "from": {"id": 4200 + rng.randrange(5), "is_bot": False, "first_name": "F"},
            "text": rng.choice([*QUESTIONS, "/start", "/privacy export", "/privacy delete", "/reset"])}}
        secret = rng.choices([TELEGRAM_SECRET, "", "wrong", TELEGRAM_SECRET.upper()], [85, 5, 5, 5])[0]
        return self.json_route("/telegram/webhook", update, {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {})

    def timestamp(self) -> str:
        if self.rng.random() < 0.85:
            return str(int(time.time()))
        return self.rng.choice([*HUGE_IDS, "", str(int(time.time()) - 10**6), "99999999999", "000000000001"])

    def xml_message(self, to: str) -> str:
        rng = self.rng
        fields = {"ToUserName": to, "FromUserName": "o" + "".join(rng.choices("abcdefXYZ0123_-", k=27)),
                  "CreateTime": str(int(time.time())), "MsgType": rng.choice(["text", "text", "event", "image", "voice"]),
                  "Content": rng.choice(QUESTIONS), "MsgId": str(rng.randrange(10**18)),
                  "Event": rng.choice(["subscribe", "unsubscribe", "CLICK", ""]), "AgentID": WECOM_AGENT_ID}
        hostile = ["&#xD800;", "&#0;", "&#x1;", "\x01\x02", "办" * 6000, "9" * 5000, "1" + "0" * 400, "²", "-1",
                   "NaN", "", "<![CDATA[", "]]>", "<a><b></b></a>", "&lt;&gt;", "&undefined;", INVALID_UTF8,
                   "110105194912310021", "\ud800"]
        for key in rng.sample(list(fields), rng.randint(0, 3)):
            fields[key] = rng.choice(hostile)
        if rng.random() < 0.1:
            fields.pop(rng.choice(list(fields)))
        inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" if rng.random() < 0.7 else f"<{k}>{v}</{k}>"
                        for k, v in fields.items())
        r = rng.random()
        if r < 0.05:
            return '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">' \
                   '<!ENTITY c "&b;&b;&b;&b;&b;&b;">]><xml><Content>&c;&c;&c;</Content></xml>'
        if r < 0.08:
            return '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml>&e;</xml>'
        if r < 0.12:
            return "<xml>" + "<a>" * 10000 + "</a>" * 10000 + "</xml>"
        if r < 0.15:
            return rng.choice(["", "not xml", "<xml>", "<xml></yml>", "{}", "\x00"])
        return f"<xml>{inner}</xml>"

    def wechat_req(self) -> Req:
        rng = self.rng
        timestamp, nonce = self.timestamp(), str(rng.randrange(10**10))
        signature = sha1_signature(WECHAT_TOKEN, timestamp, nonce)
        if rng.random() < 0.1:
            signature = rng.choice(["", "0" * 40, signature.upper(), "²" * 40, "x" * 5000])
        if rng.random() < 0.3:
            echostr = rng.choice(["hello", "", "x" * 300, "%00", "²", "\ud800".encode("utf-8", "surrogatepass").decode(
                "latin-1")])
            query = {"signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
            return Req("GET /wechat", "GET", "/wechat?" + _query(query, rng))
        query = {"signature": signature, "timestamp": timestamp, "nonce": nonce}
        if rng.random() < 0.1:
            query["encrypt_type"] = rng.choice(["aes", "AES", "raw", "other", ""])
            query["msg_signature"] = signature
        body = encode(self.xml_message(WECHAT_APP_ID))
        headers = {"Content-Type": rng.choice(["text/xml", "application/xml", "application/json", "text/plain"])}
        return Req("POST /wechat", "POST", "/wechat?" + _query(query, rng), body, headers)

    def wecom_req(self) -> Req:
        rng = self.rng
        timestamp, nonce = self.timestamp(), str(rng.randrange(10**10))
        plain = self.xml_message(WECOM_CORP_ID)
        encrypt = self.wecom.encrypt(plain.encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
                                     random_prefix=rng.randbytes(16))
        if rng.random() < 0.1:
            encrypt = rng.choice(["", "!!!", "A" * 15, "AAAA" * 4, base64.b64encode(rng.randbytes(48)).decode(),
                                  "A" * 70000, encrypt[:-4]])
        bad_signature = rng.choice(["", "0" * 40, "²", None]) if rng.random() < 0.1 else None
        verify = rng.random() < 0.3
        if verify:
            encrypt = encrypt[:8000]  # httpx sends no URL over 64 KB
        signature = self.wecom.sign(timestamp, nonce, encrypt)
        if bad_signature is not None:
            signature = bad_signature
        elif rng.random() < 0.05:
            signature = signature.upper()
        query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
        if verify:
            return Req("GET /wecom", "GET", "/wecom?" + _query({**query, "echostr": encrypt}, rng))
        to = rng.choice([WECOM_CORP_ID, WECOM_CORP_ID, "", "other", "办" * 100])
        body = encode(f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
                      f"<AgentID><![CDATA[{WECOM_AGENT_ID}]]></AgentID></xml>")
        if rng.random() < 0.1:
            body = encode(self.xml_message(WECOM_CORP_ID))
        return Req("POST /wecom", "POST", "/wecom?" + _query(query, rng), body, {"Content-Type": "text/xml"})

    def admin(self) -> Req:
        rng = self.rng
        auth = rng.choices([f"Bearer {ADMIN_TOKEN}", "", "Bearer wrong", f"bearer {ADMIN_TOKEN}", "Basic Zm9vOmJhcg==",
                            "Bearer " + "x" * 5000], [85, 3, 3, 3, 3, 3])[0]
        headers = {"Authorization": auth} if auth else {}
        kind = rng.choices(["stats", "history", "reindex"], [30, 68, 2])[0]
        if kind == "stats":
            return Req("GET /api/v1/admin/stats", "GET", "/api/v1/admin/stats?" + rng.choice(["", "a=1", "%00"]),
                       headers=headers)
        if kind == "reindex":
            return Req("POST /api/v1/admin/reindex", "POST", "/api/v1/admin/reindex", b"", headers)
        fmt = rng.choices(["csv", "jsonl", "", "xlsx", "CSV", "%00", "²"], [45, 40, 3, 3, 3, 3, 3])[0]
        row = {"channel": "web", "external_id": f"fuzz-user-{rng.randrange(40)}", "id_number": "110105194912310021",
               "item_code": "11440100MB2C93178K4442111001000", "item_name": "居住证签注", "status": "办结",
               "submitted_at": "2026-01-02", "decided_at": "2026-01-05", "valid_until": "2027-01-05",
               "materials": "身份证", "tags": "老年人", "city": "广州市"}
        if fmt == "jsonl":
            lines = [to_json(self.mutate(row, rng.random() < 0.2)) if rng.random() < 0.7 else to_json(row)
                     for _ in range(rng.randint(0, 20))]
            body = encode("\n".join(lines))
        else:
            values = ["1" + "0" * 400, "9999-99-99", "NaN", "=cmd|' /C calc'!A0", "\x00\x01", "办" * 6000, "²",
                      "2026-02-30", "-1", "1e999", '"', '""""', "\ud800", INVALID_UTF8]
            lines = [",".join(row)]
            for _ in range(rng.randint(0, 20)):
                cells = [rng.choice(values) if rng.random() < 0.2 else v for v in row.values()]
                lines.append(",".join(cells[: rng.randint(1, len(cells))] if rng.random() < 0.1 else cells))
            body = encode("\r\n".join(lines))
            if rng.random() < 0.1:
                body = rng.choice([b"", b"\xef\xbb\xbf", bytes(rng.randrange(256) for _ in range(500)),
                                   "\n".join(lines).encode("gbk", "replace"), b"a,b\n" * 20000])
        return Req("POST /api/v1/admin/history", "POST", f"/api/v1/admin/history?format={fmt}", body,
                   {**headers, "Content-Type": rng.choice(["text/csv", "application/octet-stream", "application/json"])})

    def form_body(self, fields: dict[str, str]) -> tuple[bytes, str]:
        rng = self.rng
        r = rng.random()
        if r < 0.7:
            values = {k: (rng.choice([*HUGE_IDS, "办" * 6000, "\x00", "x" * 70000 if rng.random() < 0.1 else "y"])
                          if rng.random() < 0.25 else v) for k, v in fields.items() if rng.random() < 0.93}
            return urlencode(values).encode(), "application/x-www-form-urlencoded"
        if r < 0.8:
            raw = "&".join(f"{k}={v}" for k, v in fields.items()) + rng.choice(["&%zz=1", "&a=%ff%fe", "&=&&=",
                                                                               "&a=%", "&\x00=1", "&b=%C0%AF"])
            return encode(raw), "application/x-www-form-urlencoded"
        if r < 0.87:
            return encode("&".join(f"f{i}=1" for i in range(rng.choice([1001, 5000])))), \
                "application/x-www-form-urlencoded"
        if r < 0.95:
            parts = "".join(f'--zz\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items())
            return encode(rng.choice([parts + "--zz--\r\n", parts, "--zz\r\n\r\n", "garbage"])), \
                rng.choice(["multipart/form-data; boundary=zz", "multipart/form-data", "multipart/form-data; boundary="])
        body, content_type = self.json_body(fields)
        return body, content_type or "application/json"

    def console_req(self) -> Req:
        rng = self.rng
        bearer = rng.random() < 0.3
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if bearer else {}
        kind = rng.choices(["list", "conversation", "review", "curated", "withdraw", "login", "login_token",
                            "pages"], [20, 10, 25, 8, 15, 7, 7, 8])[0]
        target = rng.choice([*map(str, self.turns), *HUGE_IDS]) if rng.random() < 0.7 else rng.choice(HUGE_IDS)
        if kind == "list":
            page = rng.choice([*HUGE_IDS, "1", "2", "999999", ""])
            query = {"page": page, "q": rng.choice(["", "居住证", "%", "_", "\x00", "办" * 300]),
                     "status": rng.choice(["", "answered", "x"]), "since": rng.choice(["", "2026-01-01", "9999-99-99", "²"]),
                     "feedback": rng.choice(["", "up", "down", "x"]), "rating": rng.choice(["", "good", "unrated", "x"])}
            return Req("GET /console/conversations", "GET", "/console/conversations?" + _query(query, rng),
                       headers=headers, cookies=True)
        if kind == "conversation":
            session = rng.choice([*self.sessions, *HUGE_IDS, "x" * 5000]) if self.sessions else "x"
            return Req("GET /console/conversations/{id}", "GET", "/console/conversations/" + _path(session),
                       headers=headers, cookies=True)
        if kind == "pages":
            path = rng.choice(["/console", "/console/", "/console/curated", "/console/gaps", "/console/gaps.csv",
                               "/console/export", "/console/handoffs", "/console/staff", "/console/export/reviewed.jsonl"])
            query = {"page": rng.choice(HUGE_IDS), "since": rng.choice(["", "²", "2026-13-01"])}
            return Req(f"GET {path}", "GET", f"{path}?{_query(query, rng)}", headers=headers, cookies=True)
        csrf = self.csrf if rng.random() < 0.9 else rng.choice(["", "x", "x" * 5000])
        if kind == "review":
            fields = {"csrf_token": csrf, "rating": rng.choice(["good", "bad", "partial", "x", ""]),
                      "corrected_answer": rng.choice(["", "改正的回答", "办" * 4001]), "reasons": "wrong_fact",
                      "must_contain": rng.choice(["居住证、身份证", "、" * 1000, ""]),
                      "source": rng.choice(['{"doc_id": "x"}', "NaN", "[" * 10000, '{"doc_id": 1e999}', "null"]),
                      "extra_doc": rng.choice(["", *self.titles[:2], "unknown", "办" * 3000])}
            body, content_type = self.form_body(fields)
            return Req("POST /console/turns/{id}/review", "POST", f"/console/turns/{_path(target)}/review", body,
                       {**headers, "Content-Type": content_type}, cookies=True)
        if kind == "curated":
            fields = {"csrf_token": csrf, "turn_id": target, "question": rng.choice(["怎么办理居住证？", ""]),
                      "answer": rng.choice(["带身份证去派出所。", "办" * 4001, ""]),
                      "extra_doc": rng.choice(["", *self.titles[:2], "unknown"]), "replaces_id": rng.choice(HUGE_IDS)}
            body, content_type = self.form_body(fields)
            return Req("POST /console/curated", "POST", "/console/curated", body,
                       {**headers, "Content-Type": content_type}, cookies=True)
        if kind == "withdraw":
            curated = rng.choice(["1", "2", "3", *HUGE_IDS])
            body, content_type = self.form_body({"csrf_token": csrf})
            return Req("POST /console/curated/{id}/withdraw", "POST", f"/console/curated/{_path(curated)}/withdraw",
                       body, {**headers, "Content-Type": content_type}, cookies=True)
        if kind == "login":
            if rng.random() < 0.4:
                nxt = rng.choice(["/console/conversations", "//evil.example", "https://evil.example", "\\\\x", "%00",
                                  "/console/" + "a" * 5000, "javascript:alert(1)"])
                return Req("GET /console/login", "GET", "/console/login?" + _query({"next": nxt}, rng), cookies=True)
            fields = {"csrf_token": self.login_csrf if rng.random() < 0.8 else "", "username": rng.choice(
                ["admin", "", "x" * 5000, "\x00", "²"]), "password": rng.choice(["x", "", "办" * 6000]), "next": "/console"}
            body, content_type = self.form_body(fields)
            return Req("POST /console/login", "POST", "/console/login", body, {"Content-Type": content_type})
        fields = {"csrf_token": self.login_csrf if rng.random() < 0.8 else "x",
                  "token": rng.choice(["wrong", "", ADMIN_TOKEN + "x", "x" * 5000]), "next": "/console"}
        body, content_type = self.form_body(fields)
        return Req("POST /console/login/token", "POST", "/console/login/token", body, {"Content-Type": content_type})

    def upload_body(self, fields: dict[str, str]) -> tuple[bytes, str]:
        """A multipart upload: a hostile file name and content (broken PDFs, ZIP junk, broken front matter,
        deep HTML, bad JSONL), sometimes a broken envelope."""
        rng = self.rng
        name = rng.choice(["guide.md", "../../etc/passwd.md", "x" * 300 + ".pdf", "a\x00b.pdf", "无后缀", "a.PDF",
                           "a.docx", "kb.jsonl", "page.html", "a.txt", "a.exe", "", ".md", "a.md.pdf"])
        content = rng.choice([
            b"", rng.randbytes(rng.choice([16, 4000])), b"%PDF-1.7\n" + rng.randbytes(2000),
            b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj trailer << /Root 1 0 R >>",
            b"PK\x03\x04" + rng.randbytes(500), "---\ndoc_id: [x\n---\n正文".encode(),
            "---\ndoc_id: fuzz-doc\ntitle: 测试\ndoc_type: service_guide\n---\n## 申请材料\n身份证".encode(),
            ("<div>" * 5000 + "文字").encode(), b'{"id": "a"}\n{"id": "a", "text": "x"}\nnot json\n',
            ("申请材料" + " " * 20000 + "x").encode(), "\ufeff\ud800".encode("utf-8", "surrogatepass"),
        ])
        boundary = "fuzzboundary"
        parts = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                        for k, v in fields.items()).encode()
        parts += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                  "Content-Type: application/octet-stream\r\n\r\n").encode("utf-8", "surrogatepass") + content
        parts += f"\r\n--{boundary}--\r\n".encode()
        if rng.random() < 0.1:
            parts = parts[: rng.randrange(len(parts))]
        return parts, f"multipart/form-data; boundary={boundary}"

    def documents_req(self) -> Req:
        """The document library: uploads, the list's filters, versions, actions, the API."""
        rng = self.rng
        bearer = rng.random() < 0.4
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if bearer else {}
        doc = rng.choice(["fuzz-doc", "file-0", *HUGE_IDS, "办" * 200, "..", "a/b"])
        kind = rng.choices(["upload", "api_upload", "list", "version", "action", "api_action", "job"],
                           [25, 15, 15, 15, 15, 10, 5])[0]
        csrf = self.csrf if rng.random() < 0.9 else rng.choice(["", "x"])
        if kind in ("upload", "api_upload"):
            body, content_type = self.upload_body({"csrf_token": csrf, "doc_type": rng.choice(["service_guide", "x", ""]),
                                                   "region": rng.choice(["广州市", "办" * 500, ""])})
            path = "/console/documents/upload" if kind == "upload" else "/api/v1/admin/documents"
            return Req(f"POST {path}", "POST", path, body, {**headers, "Content-Type": content_type},
                       cookies=kind == "upload")
        if kind == "list":
            query = {k: rng.choice(["", "x", "办" * 300, "%", "\x00", "2026-13-01"]) for k in
                     ("search", "doc_type", "region", "department", "status", "origin", "updated_since")}
            query["page"] = rng.choice(HUGE_IDS)
            path = rng.choice(["/console/documents", "/api/v1/admin/documents"])
            return Req(f"GET {path}", "GET", f"{path}?{_query(query, rng)}", headers=headers, cookies=True)
        if kind == "version":
            number = rng.choice(["1", *HUGE_IDS])
            path = rng.choice([f"/console/documents/{_path(doc)}/v/{_path(number)}",
                               f"/console/documents/{_path(doc)}/v/{_path(number)}.md",
                               f"/console/documents/{_path(doc)}", f"/console/documents/{_path(doc)}/edit",
                               f"/api/v1/admin/documents/{_path(doc)}/versions/{_path(number)}"])
            return Req("GET /documents/{id}/…", "GET", path, headers=headers, cookies=True)
        if kind == "job":
            path = rng.choice(["/console/documents/jobs/", "/api/v1/admin/jobs/"]) + _path(rng.choice(["1", *HUGE_IDS]))
            return Req("GET jobs/{id}", "GET", path, headers=headers, cookies=True)
        action = rng.choice(["publish", "withdraw", "rollback", "release", "take-disk", "keep", "discard", "edit",
                             "x" * 100])
        if kind == "action":
            fields = {"csrf_token": csrf, "version": rng.choice(["1", *HUGE_IDS]), "status": rng.choice(["withdrawn", "x"]),
                      "effective": rng.choice(["2026-12-01", "9999-99-99", "", "²"]), "doc_id": doc,
                      "title": rng.choice(["标题", "", "办" * 400]), "body": rng.choice(["正文", "", "办" * 70000]),
                      "doc_type": rng.choice(["service_guide", "x"]), "expires": rng.choice(["", "明年", "2027-01-01"]),
                      "guide_form": "1", "guide_申请材料": rng.choice(["身份证", "办" * 30000])}
            body, content_type = self.form_body(fields)
            return Req("POST /console/documents/{id}/{action}", "POST",
                       f"/console/documents/{_path(doc)}/{_path(action)}", body,
                       {**headers, "Content-Type": content_type}, cookies=True)
        template = {"version": rng.choice([1, 2**31, -1, "1", None]), "status": rng.choice(["withdrawn", "x"]),
                    "effective": rng.choice(["2026-12-01", "9999-99-99", 1, None])}
        api = rng.choice(["publish", "withdraw", "rollback", "release", "versions"])
        return self.json_route(f"/api/v1/admin/documents/{_path(doc)}/{api}", template,
                               {"Authorization": f"Bearer {ADMIN_TOKEN}"} if rng.random() < 0.8 else {},
                               route=f"POST /api/v1/admin/documents/{{id}}/{api}")

    def short_link(self) -> Req:
        code = self.rng.choice([*HUGE_IDS, "abc", "x" * 5000, "%2F..%2F"])
        return Req("GET /s/{code}", "GET", "/s/" + _path(code))

    def content_length_lie(self) -> Req:
        """Sent over a raw socket: a Content-Length that is not the body's."""
        rng = self.rng
        path = rng.choice(["/api/v1/chat", "/api/v1/feedback", "/wechat", "/telegram/webhook", "/api/v1/me/export"])
        body = b'{"question": "\xe6\x80\x8e\xe4\xb9\x88\xe5\x8a\x9e"}'
        kind = rng.choice(["short", "long", "huge", "negative", "junk", "two", "chunked+length", "bad-chunk",
                           "unfinished-chunk"])
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        if path == "/telegram/webhook":
            head += f"X-Telegram-Bot-Api-Secret-Token: {TELEGRAM_SECRET}\r\n"
        length = {"short": str(len(body) - 10), "long": str(len(body) + 100), "huge": "10000000000",
                  "negative": "-1", "junk": "12abc", "two": f"{len(body)}\r\nContent-Length: {len(body) + 5}",
                  "chunked+length": f"{len(body)}\r\nTransfer-Encoding: chunked"}.get(kind)
        if length is not None:
            raw = f"{head}Content-Length: {length}\r\nConnection: close\r\n\r\n".encode() + body
        elif kind == "bad-chunk":
            raw = f"{head}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode() + b"zz\r\nabc\r\n0\r\n\r\n"
        else:
            raw = f"{head}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode() + b"ffff\r\n" + body
        return Req(f"RAW {path}", "POST", path, body, raw=raw, refusable=True)

    def next_request(self) -> Req:
        rng = self.rng
        if rng.random() < 0.012:
            return self.content_length_lie()
        maker = rng.choices([self.chat, self.feedback, self.me, self.telegram, self.wechat_req, self.wecom_req,
                             self.admin, self.console_req, self.short_link, self.documents_req],
                            [22, 8, 14, 9, 10, 8, 9, 18, 2, 12])[0]
        request = maker()
        if request.method == "POST" and request.raw is None:
            r = rng.random()
            if r < 0.015:  # over the limit, chunked: 413 (or the connection closed)
                request.chunks, request.refusable = rng.randint(1, 5) * 1024 * 1024, True
            elif r < 0.1:  # chunked, small
                request.chunks = len(request.body) or 1
            if request.chunks and request.route == "POST /api/v1/admin/history":
                request.chunks = min(request.chunks, 1024 * 1024)  # its limit is 50 MB: keep it small
        if len(request.body) > MAX_BODY and request.route != "POST /api/v1/admin/history":
            request.refusable = True
        return request

    # -- sending ------------------------------------------------------------------------------------------------
    def chunk_stream(self, request: Req) -> Iterator[bytes]:
        """The body in pieces of random size; past the body itself, filler up to ``chunks`` bytes."""
        sizes = random.Random(len(request.body) + request.chunks)
        data, sent = request.body or b"{", 0
        while sent < request.chunks:
            piece = data[sent: sent + sizes.randint(1, 8192)] if sent < len(data) else b" " * min(65536, request.chunks - sent)
            if not piece:
                piece = b" "
            sent += len(piece)
            yield piece

    def send(self, request: Req) -> str:
        if request.raw is not None:
            return self.send_raw(request)
        client = self.console if request.cookies else self.api
        for attempt in (1, 2):
            content = (self.chunk_stream(request) if request.chunks else request.body) if request.method == "POST" else None
            try:
                headers = {k: v if v.isascii() else v.encode() for k, v in request.headers.items()}  # ² as UTF-8
                response = client.request(request.method, request.path, content=content, headers=headers)
                return str(response.status_code)
            except httpx.TimeoutException as exc:
                return f"timeout ({type(exc).__name__})"
            except (httpx.TransportError, httpx.DecodingError) as exc:
                if request.refusable:
                    return f"closed ({type(exc).__name__})"
                if attempt == 2:
                    return f"connection error ({type(exc).__name__})"
                # A kept-alive connection the server closed (uvicorn closes one after an unhandled exception's
                # 500, which carries no Connection: close): once more, on a new connection, as clients do.
                with self.lock:
                    self.retried += 1
        raise AssertionError("unreachable")

    def send_raw(self, request: Req) -> str:
        assert request.raw is not None
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=BODY_TIMEOUT + 20) as sock:
                sock.sendall(request.raw)
                received = b""
                while b"\r\n" not in received:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    received += chunk
        except TimeoutError:
            return "timeout (raw socket)"
        except OSError as exc:
            return f"closed ({type(exc).__name__})"
        match = re.match(rb"HTTP/1\.[01] (\d{3})", received)
        return match.group(1).decode() if match else "closed (no response)"

    def record(self, request: Req, outcome: str) -> None:
        failed = outcome.startswith(("timeout", "connection error")) or (outcome.isdigit() and int(outcome) >= 500)
        key = outcome.split(" ", 1)[0]
        with self.lock:
            self.statuses[request.route][key] += 1
            if outcome.startswith("unsent"):
                self.unsent.append(f"{request.method} {request.path[:100]}: {outcome}")
            if failed:
                self.errors.append((request.method, request.path[:200], request.preview(), f"{outcome}, {request.how()}"))

    def run(self, count: int) -> bool:
        started = time.monotonic()
        self.setup()
        slots = threading.BoundedSemaphore(self.concurrency * 2)

        def one(request: Req) -> None:
            try:
                try:
                    outcome = self.send(request)
                except Exception as exc:  # noqa: BLE001 - a request this client could not send: shown, not a 5xx
                    outcome = f"unsent ({type(exc).__name__}: {str(exc)[:80]})"
                self.record(request, outcome)
            finally:
                slots.release()

        with ThreadPoolExecutor(self.concurrency) as pool:
            for _ in range(count):
                request = self.next_request()  # built just before it goes: signed callbacks carry a fresh timestamp
                slots.acquire()
                pool.submit(one, request)
        self.api.close()
        self.console.close()
        return self.report(count, time.monotonic() - started)

    def report(self, count: int, seconds: float) -> bool:
        print(f"\nhostile requests: {count} in {seconds:.0f} s")
        width = max(len(route) for route in self.statuses)
        print(f"{'route':<{width}}  {'requests':>8}  {'5xx/errors':>10}  statuses")
        total: Counter = Counter()
        for route in sorted(self.statuses):
            seen = self.statuses[route]
            total.update(seen)
            bad = sum(n for status, n in seen.items() if status in ("timeout", "connection") or
                      (status.isdigit() and int(status) >= 500))
            statuses = " ".join(f"{status}×{n}" for status, n in sorted(seen.items()))
            print(f"{route:<{width}}  {sum(seen.values()):>8}  {bad:>10}  {statuses}")
        print(f"{'all':<{width}}  {sum(total.values()):>8}  {len(self.errors):>10}  "
              + " ".join(f"{status}×{n}" for status, n in sorted(total.items())))
        for line in self.unsent[:10]:
            print("not sent:", line)
        for method, path, body, outcome in self.errors[:20]:
            print(f"SERVER ERROR {outcome}: {method} {path} body={body!r}")
        if len(self.errors) > 20:
            print(f"... and {len(self.errors) - 20} more")
        print(f"hostile requests: {count} sent, {len(self.errors)} server errors; {self.retried} sent a second "
              "time after a connection error on a kept-alive connection", flush=True)
        return not self.errors


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return match.group(1) if match else ""


def _path(value: str) -> str:
    """A path segment: kept as written when it is already percent-encoded (%00), else encoded."""
    return value if re.fullmatch(r"(%[0-9A-Fa-f]{2}|[A-Za-z0-9._~+-])+", value) else quote(value, safe="")


def _query(params: dict[str, str], rng: random.Random) -> str:
    """The query string, sometimes with a parameter twice or a raw %00 / invalid escape thrown in."""
    text = urlencode(params)
    if rng.random() < 0.05:
        text += rng.choice(["&timestamp=1&timestamp=2", "&%00=%00", "&a=%zz", "&page=1&page=2", "&%ff=%fe"])
    return text



if __name__ == "__main__":
    sys.exit(main())
