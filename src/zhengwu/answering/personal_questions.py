"""Questions only the asker's own data answers: the status of their applications, their next steps,
suggestions for them. With consent and a linked identity the personaliser answers them; without, the citizen
is told how to get there instead of being given a guess that fits someone else."""

from __future__ import annotations

import re
from collections.abc import Callable

from zhengwu.answering import wording
from zhengwu.answering.answer import Answer
from zhengwu.answering.seams import Personaliser
from zhengwu.answering.user import UserContext
from zhengwu.index.store import DocMeta

# "我的居住证办到哪一步了？", "我申请的低保审批进度", "我的事项办理状态"
STATUS_QUESTION = re.compile(
    r"我的?.{0,24}(办到|到哪|哪一步|进度|进展|状态|审批结果|办好了吗|办完了吗|批下来|通过了吗)"
    r"|(办件|办理|审批|申请)(进度|状态|结果)"
)
# "怎么查询办理进度" asks how, not what: the guides answer it.
HOW_TO_CHECK = re.compile(r"(怎么|如何|怎样|在哪|哪里|哪儿)(能|可以)?(查|查询|看)")
NEXT_STEP_QUESTION = re.compile(r"下一步|接下来|然后(还)?要|还(要|需要|得)办|还能办|后续(还)?(要|需要)?办")
SUGGEST_QUESTION = re.compile(
    r"(适合|推荐|可以享受|能享受|能申请|可以申请|能办).{0,8}(我|哪些|什么)|我(能|可以)(享受|申请|办)(哪些|什么)"
)


def personal_answer(
    text: str, user: UserContext, personaliser: Personaliser | None, hotline: str, *,
    names_an_item: Callable[[str], bool], suggest_doc: Callable[[str], DocMeta | None],
) -> Answer | None:
    """The answer to a question about the asker's own data; None for any other question."""
    if "我" not in text:
        return None
    personal = user.personal
    if STATUS_QUESTION.search(text) and not HOW_TO_CHECK.search(text):
        if personal and personal.linked and personaliser:
            return personaliser.status_answer(text, personal)
        return Answer(question=text, status="clarify", reason="needs_consent",
                      text=wording.say(wording.STATUS_NEEDS_CONSENT, hotline))
    if not (personal and personaliser):
        if SUGGEST_QUESTION.search(text) and not names_an_item(text):
            # "有哪些适合我的政策？" has no answer that fits everyone; guessing from one document misleads.
            return Answer(question=text, status="clarify", reason="needs_consent",
                          text=wording.SUGGESTIONS_NEED_CONSENT)
        return None
    if NEXT_STEP_QUESTION.search(text):
        return personaliser.next_step_answer(text, personal)
    if SUGGEST_QUESTION.search(text) and personal.tags:
        return personaliser.suggestion_answer(text, personal, suggest_doc)
    return None
