"""Request and response schemas of the HTTP API (they are what /openapi.json publishes)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from zhengwu.answering.answer import Answer

# Generous: the assistant itself asks a citizen to shorten anything over ZHENGWU_MAX_QUESTION_CHARS, in
# Chinese; this bound only stops payloads that are not questions at all.
MAX_QUESTION_FIELD = 5000
# Row ids are 32-bit integers on PostgreSQL and at most 2^63 - 1 on SQLite: a larger id can name no row, and
# passed on it overflows the driver (a 500 in issue 15).
MAX_ROW_ID = 2**31 - 1


class ChatIn(BaseModel):
    question: str = Field(max_length=MAX_QUESTION_FIELD, description="The citizen's question, in Chinese.")
    session_id: str | None = Field(default=None, max_length=64, description="From an earlier answer.")
    region: str | None = Field(default=None, max_length=40, description="The asker's region, e.g. 广州市.")
    user_token: str | None = Field(default=None, max_length=512,
                                   description="A logged-in portal user, signed by the portal (see docs).")
    personalise: bool = Field(default=True, description="false: 不使用个性化, the plain answer (PIPL Art. 24).")


class MeIn(BaseModel):
    user_token: str = Field(max_length=512, description="The portal-signed user token.")


class ConsentIn(MeIn):
    personalisation: bool | None = Field(default=None, description="个性化服务: grant (true) or withdraw (false).")
    reminders: bool | None = Field(default=None, description="到期提醒: grant or withdraw.")


class CitationOut(BaseModel):
    n: int
    title: str
    section: str
    source_url: str
    snippet: str
    region: str = ""
    doc_type: str = ""
    updated: str = Field(default="", description="The source's 更新/生效 date (YYYY-MM-DD), when it has one.")


class HandoffOut(BaseModel):
    category: str = Field(description="complaint | report | suggestion | help | consult (a local matter)")
    department: str = Field(default="", description="A guess at the responsible department.")
    place: str = Field(default="", description="The place the message names, as written.")


class AnswerOut(BaseModel):
    text: str
    status: str = Field(description="answered | refused | clarify")
    reason: str = ""
    citations: list[CitationOut] = []
    session_id: str | None = None
    latency_ms: float = 0.0
    path: str = Field(default="composer",
                      description="composer, llm:<model>:<prompt versions>, or curated:v<n> (a staff-approved answer)")
    personal: list[str] = Field(default=[], description="personal uses applied (only with the user's consent)")
    turn_id: int | None = Field(default=None, description="Rate this answer with POST /api/v1/feedback.")
    handoff: HandoffOut | None = Field(default=None, description="Set when the message was handed off (reason "
                                       "handoff): a complaint, report, suggestion or plea, or a local matter.")

    @classmethod
    def from_answer(cls, answer: Answer) -> AnswerOut:
        return cls(
            text=answer.text,
            status=answer.status,
            reason=answer.reason,
            citations=[CitationOut(**c.__dict__) for c in answer.citations],
            session_id=answer.session_id,
            latency_ms=answer.latency_ms,
            path=answer.path,
            personal=answer.personal,
            turn_id=answer.turn_id,
            handoff=HandoffOut(**answer.handoff.__dict__) if answer.handoff else None,
        )


class FeedbackIn(BaseModel):
    turn_id: int = Field(ge=1, le=MAX_ROW_ID, description="From the answer being rated.")
    level: Literal[5, 4, 3, 2, 1] | None = Field(
        default=None, description="好差评: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意 (2 and 1 are 差评 and "
        "open a rectification). A later rating replaces an earlier one.")
    value: Literal[1, -1] | None = Field(
        default=None, description="The older thumbs: 1 有帮助 (👍, recorded as 满意), -1 没帮助 (👎, 不满意). With "
        "`level` it must agree with it (1 for levels 4-5, -1 for 1-2).")
    session_id: str | None = Field(default=None, max_length=64,
                                   description="The session that got the answer (or the cookie / X-Session-Id).")

    @model_validator(mode="after")
    def _a_rating(self) -> FeedbackIn:
        if self.level is None and self.value is None:
            raise ValueError("give a level (1-5) or a thumbs value (1 or -1)")
        if self.level is not None and self.value is not None and self.value != (
                1 if self.level >= 4 else -1 if self.level <= 2 else 0):
            raise ValueError("value disagrees with level")
        return self


class ErrorOut(BaseModel):
    message: str = Field(description="For the citizen, in Chinese.")
    detail: str = Field(description="For the operator, in English.")


class StatsOut(BaseModel):
    documents: int
    chunks: int
    active_sessions: int | None
    uptime_s: float
    requests: int
