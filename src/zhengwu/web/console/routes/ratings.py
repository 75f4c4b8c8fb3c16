"""The citizens' and reviewers' 好差评 ratings in the console: 差评 rectification (整改) tracked to 回访.

    GET  /console/ratings                        levels counted, the 差评 list (state, owner, overdue filters)
    GET  /console/ratings/{id}                   one rectification: question and answer, rating, owner, deadline,
                                                 its steps, the 整改 and 回访 forms
    POST /console/ratings/{id}/owner             admin: assign an owner (or none)
    POST /console/ratings/{id}/rectify           its owner or an admin: the measures taken (整改措施)
    POST /console/ratings/{id}/revisit           its owner or an admin: the 回访 result (满意 closes, 不满意 re-opens)
    POST /console/turns/{turn_id}/test-case      「加入测试集」: a rated turn into the review set (idempotent)

A 差评 (不满意, 非常不满意) from a citizen (``/api/v1/feedback``, chat) or a reviewer (the conversation page)
opens the rectification, due 15 working days later (``ZHENGWU_HOLIDAYS``, ``ZHENGWU_WORKDAYS``). Opening one
that belongs to a citizen is written to the audit log, as opening their conversation is.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from zhengwu.answering.vocabulary import CHANNEL_LABELS
from zhengwu.review import (
    RATING_SOURCE_LABELS,
    RECTIFICATION_ACTION_LABELS,
    RECTIFICATION_DAYS,
    RECTIFICATION_STATE_LABELS,
    REVISIT_RESULT_LABELS,
    REVISIT_RESULTS,
    SATISFACTION_LABELS,
    SATISFACTION_LEVELS,
    UNASSIGNED,
    RectificationFilter,
    WorkCalendar,
    china_today,
)
from zhengwu.web.console.access import admin, audit, posted, reviewer, reviews, turn_or_404
from zhengwu.web.console.auth import StaffSession
from zhengwu.web.console.pages import ConsoleError, page, page_number, redirect, row_id
from zhengwu.web.dependencies import app_state

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE_SIZE = 50
MAX_TEXT = 4000

# The notices and problems of the ratings pages (and of the review form's 好差评), named by ?msg= and ?error=.
RATING_MESSAGES = {
    "assigned": "负责人已更新。",
    "rectified": "整改措施已提交，请在回访后填写回访结果。",
    "revisited": "回访结果已记录，整改办结。",
    "reopened": "回访不满意，整改单已重新打开，整改期限重新计算。",
    "test_case": "已加入测试集，将随审核集一起导出。",
    "test_case_exists": "该回答已在测试集中。",
    "reviewed_poor": "评价已保存。差评已生成整改单，请管理员指定负责人。",
}
RATING_ERRORS = {
    "owner": "请选择启用中的工作人员作为负责人。",
    "measures": "请填写整改措施（最多 4000 字）。",
    "result": "请选择回访结果。",
    "note": "回访情况最多 4000 字。",
    "state": "整改单的状态已变化，请刷新后查看。",
    "unrated": "该回答还没有群众评价或审核意见，无法加入测试集。",
}


def calendar_of(request: Request) -> WorkCalendar:
    """Working days as this service's settings have them (``ZHENGWU_HOLIDAYS``, ``ZHENGWU_WORKDAYS``)."""
    return WorkCalendar.from_settings(app_state(request).settings)


def notices(request: Request) -> dict[str, Any]:
    """The ratings notice or problem the query string names, for a page's context."""
    q = request.query_params
    return {"rating_notice": RATING_MESSAGES.get(q.get("msg", "")),
            "rating_problem": RATING_ERRORS.get(q.get("error", ""))}


def labels() -> dict[str, Any]:
    return {"levels": SATISFACTION_LABELS, "states": RECTIFICATION_STATE_LABELS, "sources": RATING_SOURCE_LABELS,
            "actions": RECTIFICATION_ACTION_LABELS, "results": REVISIT_RESULT_LABELS, "channels": CHANNEL_LABELS}


def _filter(request: Request) -> RectificationFilter:
    q = request.query_params
    state = q.get("state", "") if q.get("state") in RECTIFICATION_STATE_LABELS else ""
    return RectificationFilter(state=state, owner=q.get("owner", "")[:64], overdue=q.get("overdue") == "1")


@router.get("/ratings")
def ratings_page(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    store = reviews(request)
    where = _filter(request)
    owner = who.username if where.owner == "me" else where.owner
    number = page_number(request.query_params.get("page"))
    today = china_today()
    rows, total = store.rectifications(RectificationFilter(where.state, owner, where.overdue), limit=PAGE_SIZE,
                                       offset=(number - 1) * PAGE_SIZE, today=today)
    counts = store.level_counts()
    bars = {who_: {"total": sum(by.values()), "good": sum(n for lv, n in by.items() if lv >= 3), "levels": by}
            for who_, by in counts.items()}
    params = {k: v for k, v in {"state": where.state, "owner": where.owner,
                                "overdue": "1" if where.overdue else ""}.items() if v}
    return page(request, "ratings.html", who=who, rows=rows, total=total, where=where, bars=bars,
                order=SATISFACTION_LEVELS, states_count=store.rectification_counts(today), today=today,
                staff=[s for s in store.list_staff() if s.active], unassigned=UNASSIGNED, days=RECTIFICATION_DAYS,
                page_number=number, pages=max(1, -(-total // PAGE_SIZE)),
                page_url=lambda n: "/console/ratings?" + urlencode({**params, "page": n}),
                **labels(), **notices(request))


def _rectification(request: Request, raw: str) -> Any:
    found = reviews(request).rectification(row) if (row := row_id(raw)) is not None else None
    if found is None or found.turn is None:
        raise ConsoleError(404, "没有找到这条整改单（对话可能已按保存期限删除）。")
    return found


@router.get("/ratings/{rectification_id}")
def rectification_page(rectification_id: str, request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    store = reviews(request)
    item = _rectification(request, rectification_id)
    if item.turn.user_id is not None:
        audit(request, who, "view_rectification", item.turn.user_id, f"rectification {item.id}")
    citizen, reviewer_level = store.levels([item.turn_id]).get(item.turn_id, (None, None))
    may_act = who.is_admin or (item.owner is not None and item.owner == who.username)
    return page(request, "rectification.html", who=who, item=item, turn=item.turn, may_act=may_act,
                citizen_level=citizen, reviewer_level=reviewer_level, test_case=store.test_case(item.turn_id),
                staff=[s for s in store.list_staff() if s.active], **labels(), **notices(request))


def _back(rectification_id: int) -> str:
    return f"/console/ratings/{rectification_id}"


async def _act(request: Request, who: StaffSession, raw: str, change: Any) -> Any:
    """Run a change on a rectification as ``who`` (its owner, or any one for an admin); a ratings error code
    when its state forbids it."""
    row = row_id(raw)
    if row is None:
        raise ConsoleError(404, "没有找到这条整改单。")
    as_owner = None if who.is_admin else who.username
    try:
        return await run_in_threadpool(change, row, as_owner), None
    except LookupError:
        raise ConsoleError(404, "没有找到这条整改单。") from None
    except PermissionError:
        raise ConsoleError(403, "只有该整改单的负责人或管理员可以填写整改和回访。") from None
    except ValueError:
        return None, "state"


@router.post("/ratings/{rectification_id}/owner")
async def assign_owner(rectification_id: str, request: Request, who: StaffSession = Depends(admin)) -> Response:
    form = await posted(request, who)
    owner = str(form.get("owner", "")).strip() or None
    row = row_id(rectification_id)
    if row is None:
        raise ConsoleError(404, "没有找到这条整改单。")
    try:
        await run_in_threadpool(reviews(request).assign, row, owner, who.actor)
    except LookupError:
        raise ConsoleError(404, "没有找到这条整改单。") from None
    except ValueError:
        return redirect(_back(row), error="owner")
    return redirect(_back(row), msg="assigned")


@router.post("/ratings/{rectification_id}/rectify")
async def rectify(rectification_id: str, request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    form = await posted(request, who)
    measures = str(form.get("measures", "")).strip()
    row = row_id(rectification_id)
    if row is None:
        raise ConsoleError(404, "没有找到这条整改单。")
    if not measures or len(measures) > MAX_TEXT:
        return redirect(_back(row), error="measures")
    _done, problem = await _act(request, who, rectification_id, lambda row, as_owner: reviews(request).rectify(
        row, measures, who.actor, as_owner=as_owner))
    return redirect(_back(row), error=problem, msg=None if problem else "rectified")


@router.post("/ratings/{rectification_id}/revisit")
async def revisit(rectification_id: str, request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    form = await posted(request, who)
    result, note = str(form.get("result", "")), str(form.get("note", "")).strip()
    row = row_id(rectification_id)
    if row is None:
        raise ConsoleError(404, "没有找到这条整改单。")
    if result not in REVISIT_RESULTS or len(note) > MAX_TEXT:
        return redirect(_back(row), error="result" if result not in REVISIT_RESULTS else "note")
    calendar = calendar_of(request)
    done, problem = await _act(request, who, rectification_id, lambda row, as_owner: reviews(request).revisit(
        row, result, note, who.actor, as_owner=as_owner, calendar=calendar))
    if problem:
        return redirect(_back(row), error=problem)
    return redirect(_back(row), msg="reopened" if done.state == "open" else "revisited")


@router.post("/turns/{turn_id}/test-case")
async def add_test_case(turn_id: str, request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    form = await posted(request, who)
    store = reviews(request)
    turn = await turn_or_404(request, turn_id)
    rectification = await run_in_threadpool(store.rectification_of, turn.id)
    back = (_back(rectification.id) if form.get("back") == "rectification" and rectification is not None
            else f"/console/conversations/{turn.session_id}#turn-{turn.id}")
    try:
        _case, created = await run_in_threadpool(store.add_test_case, turn.id, who.actor)
    except LookupError:
        raise ConsoleError(404, "没有找到这条回答。") from None
    except ValueError:
        return redirect(back, error="unrated")
    return redirect(back, msg="test_case" if created else "test_case_exists")
