"""Stage 5's typed boundary: the ``Answer`` every channel renders, with its status and numbered citations."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Status = Literal["answered", "refused", "clarify"]


@dataclass(frozen=True)
class Citation:
    n: int  # the number used in the text as [n]
    doc_id: str
    title: str
    section: str  # guide field (咨询电话) or law article (第十条)
    source_url: str
    snippet: str
    region: str = ""
    doc_type: str = ""


@dataclass
class Answer:
    question: str
    text: str
    status: Status
    citations: list[Citation] = field(default_factory=list)
    reason: str = ""  # machine-readable: why refused or asked back (e.g. "out_of_region", "weak_evidence")
    session_id: str | None = None
    retrieved: list[str] = field(default_factory=list)  # ranked document ids, for evaluation and review
    latency_ms: float = 0.0
    # What produced the text: "composer", "llm:<model>:<prompt versions>", or "curated:v<version>" (a staff-approved
    # answer, zhengwu.review.curated).
    path: str = "composer"
    # Personal uses that shaped this answer (consent given): "region", "next_steps", "materials", "status",
    # "suggestions". Empty for everyone else.
    personal: list[str] = field(default_factory=list)
    # The logged conversation turn (set by the assistant when a people store records turns): what the
    # citizen's 👍/👎 and staff reviews refer to. None when nothing was logged.
    turn_id: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def render(self) -> str:
        """Plain text with a source list: what a text-only channel (SMS, WeChat, terminal) shows."""
        if not self.citations:
            return self.text
        lines = [self.text, "", "参考来源："]
        for c in self.citations:
            where = f" · {c.section}" if c.section else ""
            url = f" {c.source_url}" if c.source_url else ""
            lines.append(f"[{c.n}] 《{c.title}》{where}{url}")
        return "\n".join(lines)
