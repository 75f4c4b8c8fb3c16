"""Stage 5's typed boundary: the ``Answer`` every channel renders, with its status, numbered citations and the
provenance of its text."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from zhengwu.answering.vocabulary import Status

__all__ = ["Answer", "Citation", "Handoff", "Provenance", "Status"]

ProvenanceKind = Literal["composer", "llm", "curated"]


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
    updated: str = ""  # the document's 更新/生效 date (ISO), shown beside the source so staleness is visible


@dataclass(frozen=True)
class Provenance:
    """What wrote an answer's text: the offline composer, a verified LLM reply (which model, which prompt
    versions), or a staff-curated answer (which version). ``label`` is the form stored in transcripts and shown
    in the API and evaluation rows as ``path``; ``parse`` reads it back."""

    kind: ProvenanceKind = "composer"
    model: str = ""
    prompts: tuple[str, ...] = ()  # "system@1", "answer@1"
    version: int | None = None  # of a curated answer

    @property
    def label(self) -> str:
        if self.kind == "llm":
            return f"llm:{self.model}:{'+'.join(self.prompts)}"
        if self.kind == "curated":
            return f"curated:v{self.version}"
        return "composer"

    @classmethod
    def parse(cls, label: str | None) -> Provenance:
        """The provenance of a stored label; anything unreadable counts as the composer."""
        label = label or "composer"
        if label.startswith("curated:v") and label.removeprefix("curated:v").isdigit():
            return cls("curated", version=int(label.removeprefix("curated:v")))
        if label.startswith("llm:"):
            # The model name may hold colons (qwen2.5:7b); the prompt list is the last part.
            model, _, prompts = label.removeprefix("llm:").rpartition(":")
            return cls("llm", model=model, prompts=tuple(p for p in prompts.split("+") if p))
        return cls()


COMPOSER = Provenance()


@dataclass(frozen=True)
class Handoff:
    """A message handed off instead of answered (a complaint, report, suggestion, plea, or a local matter the
    sources do not cover): what staff see of it in the console. The text it is read from is masked already."""

    category: str  # vocabulary.HANDOFF_CATEGORIES: "complaint", "report", "suggestion", "help", "consult"
    department: str = ""  # a guess at the responsible department, for staff to confirm
    place: str = ""  # the place the message names, as written


@dataclass
class Answer:
    question: str
    text: str
    status: Status
    citations: list[Citation] = field(default_factory=list)
    reason: str = ""  # machine-readable: why refused or asked back (vocabulary.REASON_LABELS)
    session_id: str | None = None
    retrieved: list[str] = field(default_factory=list)  # ranked document ids, for evaluation and review
    latency_ms: float = 0.0
    provenance: Provenance = COMPOSER
    # Personal uses that shaped this answer (consent given): "region", "next_steps", "materials", "status",
    # "suggestions". Empty for everyone else.
    personal: list[str] = field(default_factory=list)
    # The logged conversation turn (set by the assistant when a turn log records turns): what the citizen's
    # 👍/👎 and staff reviews refer to. None when nothing was logged.
    turn_id: int | None = None
    # Set when the message was handed off (status "refused", reason "handoff").
    handoff: Handoff | None = None

    @property
    def path(self) -> str:
        """The provenance label: "composer", "llm:<model>:<prompt versions>" or "curated:v<version>"."""
        return self.provenance.label

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("provenance")
        data["path"] = self.path
        return data
