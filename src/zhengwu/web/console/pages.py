"""How the review console answers a request: pages and the sign-in form rendered from the templates (``templating``),
responses with their security headers, the error page for ``ConsoleError``, downloads, redirects, and what the
conversation page shows of one turn.

Labels come from the one home of each vocabulary (``zhengwu.answering.vocabulary``, ``zhengwu.documents``,
``zhengwu.review``); the messages and errors a redirect names (``?msg=``, ``?error=``) are here.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhengwu.review import Source
from zhengwu.web.console.auth import LOGIN_COOKIE, StaffSession
from zhengwu.web.console.state import ConsoleState
from zhengwu.web.models import MAX_ROW_ID

STATIC = Path(__file__).resolve().parent / "static"
CHUNKS_SHOWN = 8
CHUNK_CHARS = 400

MESSAGES = {
    "reviewed": "评价已保存。",
    "published": "已发布为标准答案。同一问题及其近似问法将直接使用该答案。",
    "withdrawn": "标准答案已撤回，相关问题恢复按资料检索作答。",
    "staff_added": "账号已创建。",
    "staff_updated": "账号已更新。",
}
ERRORS = {
    "rating": "请选择评价结果。",
    "answer_too_long": "答案过长（最多 4000 字）。",
    "need_question": "请填写问题和答案。",
    "need_sources": "发布标准答案至少需要一个仍在资料库中的来源文件。",
    "unknown_doc": "找不到填写的文件，请填写文件编号或完整标题。",
    "ambiguous_doc": "有多个文件使用该标题，请改填文件编号。",
    "not_published": "该标准答案已撤回。",
    "username": "用户名为 2–64 位字母、数字、“.”“_”“-”，以字母或数字开头。",
    "password": "密码至少 10 位，且至少包含 4 种不同字符。",
    "password_mismatch": "两次输入的密码不一致。",
    "exists": "该用户名已存在。",
    "last_admin": "至少需要保留一名启用的管理员。",
    "role": "请选择有效的角色。",
}


class ConsoleError(Exception):
    """Ends a console request with an HTML page: an error, or (``login``) the sign-in form."""

    def __init__(self, status: int, message: str, *, login: bool = False, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.login, self.headers = status, message, login, headers or {}


# -- responses ----------------------------------------------------------------------------------------------------
def _console(request: Request) -> ConsoleState:
    return request.app.state.zhengwu.console


def page(request: Request, name: str, status: int = 200, who: StaffSession | None = None,
         **context: Any) -> HTMLResponse:
    """A console page: the template ``name`` with the signed-in staff member, their CSRF token and the notice or
    problem the query string names."""
    html = _console(request).env.get_template(name).render(
        request=request, who=who, csrf=who.csrf if who else "", messages=MESSAGES, errors=ERRORS,
        notice=MESSAGES.get(request.query_params.get("msg", "")),
        problem=ERRORS.get(request.query_params.get("error", "")), **context,
    )
    response = HTMLResponse(html, status_code=status)
    protect(response)
    return response


def login_page(request: Request, status: int = 200, message: str = "", next_url: str = "") -> HTMLResponse:
    """The sign-in form, with a fresh login nonce cookie its CSRF token is bound to."""
    console = _console(request)
    assert console.signer is not None
    nonce = secrets.token_urlsafe(24)
    response = page(request, "login.html", status, login_csrf=console.signer.login_csrf(nonce), message=message,
                    next_url=safe_next(next_url or request.query_params.get("next")),
                    token_login=console.admin_token is not None)
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, path="/console", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


async def console_error(request: Request, exc: Exception) -> Response:
    """The page for a ``ConsoleError``: the sign-in form (back to this page after it) or the error page."""
    assert isinstance(exc, ConsoleError)
    if exc.login and _console(request).signer is not None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = login_page(request, exc.status, exc.message, here if request.method == "GET" else "")
    else:
        response = page(request, "error.html", exc.status, message=exc.message)
    for name, value in exc.headers.items():
        response.headers[name] = value
    return response


def protect(response: Response) -> None:
    """Console pages hold citizens' questions: not cached, not framed, no inline script, no referrer sent to
    the government sites that citations link to."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def download(text: str, media_type: str, filename: str) -> Response:
    response = Response(text.encode("utf-8"), media_type=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    response.headers["Cache-Control"] = "no-store"
    return response


def safe_next(value: str | None) -> str:
    """Only a path inside the console: never an open redirect to another site."""
    if value and value.startswith("/console") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/conversations"


MAX_PAGE = 100_000


def page_number(raw: str | None) -> int:
    """The page a list was asked for (?page=): 1 unless a plain number, at most ``MAX_PAGE``."""
    raw = raw or "1"
    # isascii: str.isdigit also takes "²" and other digits int() refuses.
    return min(MAX_PAGE, max(1, int(raw))) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


def row_id(raw: object) -> int | None:
    """A row id a form or URL names, or None when it cannot name a row (not a plain number, or too large for
    the database: passed on, it would overflow the driver)."""
    text = str(raw)
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None


def redirect(url: str, **params: Any) -> RedirectResponse:
    """303 to ``url`` (which may end in an #anchor) with the non-empty ``params`` as its query string."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    anchor = ""
    if "#" in url:
        url, anchor = url.split("#", 1)
        anchor = "#" + anchor
    return RedirectResponse(f"{url}{'?' + query if query else ''}{anchor}", status_code=303)


# -- the conversation page ----------------------------------------------------------------------------------------
def turn_view(summary: Any, docs: dict[str, Any], index_store: Any) -> dict[str, Any]:
    """What the conversation page shows of one turn: its citations, the documents retrieved with their text, and
    the sources a reviewer can pick (cited sections first, then the other retrieved documents)."""
    turn = summary.turn
    cited_sections: dict[str, list[str]] = {}
    for c in turn.citations:
        cited_sections.setdefault(str(c.get("doc_id", "")), []).append(str(c.get("section", "")))
    retrieved = []
    for rank, doc_id in enumerate(dict.fromkeys([*cited_sections, *turn.retrieved]), start=1):
        doc = docs.get(doc_id)
        if doc is None:
            retrieved.append({"rank": rank, "doc_id": doc_id, "present": False, "cited": doc_id in cited_sections})
            continue
        chunks = index_store.chunks_of(doc_id)
        sections = cited_sections.get(doc_id, [])
        chunks.sort(key=lambda c: (c.section not in sections, c.ordinal))
        retrieved.append({
            "rank": rank, "doc_id": doc_id, "present": True, "cited": doc_id in cited_sections, "title": doc.title,
            "region": doc.region, "doc_type": doc.doc_type, "source_url": doc.source_url, "total": len(chunks),
            "chunks": [{"section": c.section, "text": c.text[:CHUNK_CHARS], "cut": len(c.text) > CHUNK_CHARS,
                        "cited": c.section in sections} for c in chunks[:CHUNKS_SHOWN]],
        })
    options: dict[tuple[str, str], Source] = {}
    for c in turn.citations:
        doc = docs.get(str(c.get("doc_id", "")))
        if doc is not None:
            options.setdefault((doc.doc_id, str(c.get("section", ""))),
                               Source(doc.doc_id, doc.title, str(c.get("section", "")), doc.source_url))
    for doc_id in turn.retrieved:
        doc = docs.get(doc_id)
        if doc is not None and not any(k[0] == doc_id for k in options):
            options[(doc_id, "")] = Source(doc_id, doc.title, "", doc.source_url)
    latest = summary.reviews[-1] if summary.reviews else None
    chosen = {(s.doc_id, s.section) for s in latest.sources} if latest else set()
    for s in latest.sources if latest else []:  # a source typed in by hand is offered again
        if (s.doc_id, s.section) not in options and s.doc_id in docs:
            options[(s.doc_id, s.section)] = s
    return {"summary": summary, "turn": turn, "latest": latest, "retrieved": retrieved,
            "options": [(s, (s.doc_id, s.section) in chosen) for s in options.values()]}
