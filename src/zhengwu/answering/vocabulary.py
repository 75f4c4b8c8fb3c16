"""The words every layer above retrieval shares about an answer: its status, why it was refused or asked back,
and the channel the question came in on. Each comes with the Chinese label staff see in the console.

Stores, the console, reports and metrics read these tuples; nothing else spells them out.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["answered", "refused", "clarify"]
STATUSES: tuple[Status, ...] = ("answered", "refused", "clarify")
STATUS_LABELS: dict[str, str] = {"answered": "已回答", "refused": "已拒答", "clarify": "请求澄清"}

# Machine-readable reasons an answer carries (``Answer.reason``): why it was refused or asked back, or which
# personal use answered it.
REASON_LABELS: dict[str, str] = {
    "weak_evidence": "资料不足",
    "handoff": "转交办理",
    "out_of_region": "地区未收录",
    "out_of_scope": "超出服务范围",
    "personal_data": "涉及个人信息",
    "unlawful": "违法违规请求",
    "internal_error": "系统错误",
    "empty": "空问题",
    "too_long": "问题过长",
    "language": "非中文",
    "unreadable": "无法识别",
    "needs_consent": "需授权",
    "personal_status": "本人办件进度",
    "personal_next_steps": "本人下一步",
    "personal_suggestions": "个性化推荐",
}
HANDOFF_REASON = "handoff"  # a complaint, report, suggestion or plea (or a local matter) handed off, not answered
# What a handed-off message is (``Handoff.category``), with the label staff see.
HandoffCategory = Literal["consult", "complaint", "report", "suggestion", "help"]
HANDOFF_CATEGORIES: tuple[HandoffCategory, ...] = ("consult", "complaint", "report", "suggestion", "help")
HANDOFF_CATEGORY_LABELS: dict[str, str] = {"consult": "咨询", "complaint": "投诉", "report": "举报",
                                           "suggestion": "建议", "help": "求助"}
# Refusals that mean "the knowledge base lacks this": what the console groups into knowledge gaps.
GAP_REASONS: tuple[str, ...] = ("weak_evidence", "out_of_region")

Channel = Literal["web", "telegram", "wechat", "wecom"]
CHANNELS: tuple[Channel, ...] = ("web", "telegram", "wechat", "wecom")
CHANNEL_LABELS: dict[str, str] = {"web": "网页", "telegram": "Telegram", "wechat": "微信公众号", "wecom": "企业微信"}
