"""Life events ("一件事"): chains of service items a citizen meets together, kept as editable YAML data.

A birth, a retirement or opening a business each means several items at several departments, in an order
citizens rarely know. ``corpus/life_events/*.yaml`` describes each chain (one file per event) and
``follow_ups.yaml`` holds "after X comes Y" rules outside the chains; staff edit them without touching code
(format: corpus/life_events/README.md).

With consent, the assistant compares a citizen's service history with the chains and suggests the next step
(``LifeEvents.next_steps``); it also recognises a question about a whole event, such as 生孩子要办哪些手续
(``LifeEvents.event_for_question``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from zhengwu.chinese import normalize
from zhengwu.personal.records import STATUS_PHRASES as _STATUS_ZH
from zhengwu.personal.records import STATUS_RANK as _STATUS_RANK
from zhengwu.personal.records import RecordStatus as Status

__all__ = [
    "FOLLOW_UPS_FILE",
    "Event",
    "FollowUp",
    "LifeEvents",
    "LifeEventsError",
    "NextStep",
    "Step",
    "load_life_events",
]

FOLLOW_UPS_FILE = "follow_ups.yaml"
DEFAULT_FOLLOW_UP_EVENT = "后续事项"
# ``Status``, ``_STATUS_RANK`` (the furthest status of an item counts) and ``_STATUS_ZH`` (the wording of the
# "下一步" reason) come from ``zhengwu.personal.records``, the one home of the status vocabulary.


# Phrases are compared in normalised form on every suggestion; they are few and never change.
_normalized = lru_cache(maxsize=8192)(normalize)


class LifeEventsError(ValueError):
    """A life-event file that cannot be used; the message names the file and the field."""


def _keywords(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        text = " ".join(str(value).split())
        if len(text) < 2:
            raise ValueError(f"keyword {value!r} is too short: use at least 2 characters")
        if text not in out:
            out.append(text)
    return out


def _doc_ids(values: object) -> object:
    if isinstance(values, list):
        for value in values:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                raise ValueError(f"put the id {value} in quotes ('...'): YAML reads an all-digit id as a number")
    return values


class _Strict(BaseModel):
    # extra="forbid": a misspelt key (mach:) must be an error, not a silently ignored line.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Step(_Strict):
    name: str = Field(min_length=1, description="Shown to citizens (Chinese).")
    match: list[str] = Field(min_length=1, description="Phrases that identify the step's item by item_name.")
    doc_ids: list[str] = Field(default_factory=list, description="Corpus documents about this step.")
    note: str = ""
    optional: bool = Field(default=False, description="Not suggested once a later step is done.")
    starts_event: bool = Field(default=True, description="False: this step alone does not mean the event began.")

    @field_validator("match")
    @classmethod
    def _check_match(cls, value: list[str]) -> list[str]:
        return _keywords(value)

    @field_validator("doc_ids", mode="before")
    @classmethod
    def _check_doc_ids(cls, value: object) -> object:
        return _doc_ids(value)


class Event(_Strict):
    id: str = Field(default="", description="The file name without .yaml; set by the loader.")
    name: str = Field(min_length=1)
    summary: str = ""
    keywords: list[str] = Field(default_factory=list, description="Words of questions about the event.")
    steps: list[Step] = Field(min_length=1)

    @field_validator("keywords")
    @classmethod
    def _check_keywords(cls, value: list[str]) -> list[str]:
        return _keywords(value)

    @model_validator(mode="after")
    def _unique_steps(self) -> Event:
        seen: set[str] = set()
        for step in self.steps:
            if step.name in seen:
                raise ValueError(f"two steps are named {step.name!r}")
            seen.add(step.name)
        return self

    def step_for(self, item_name: str) -> int | None:
        """Index of the step an item belongs to: the one with the longest matching phrase (the most specific),
        the earlier step on a tie. ``item_name`` must be ``normalize``d."""
        best: tuple[int, int] | None = None
        for index, step in enumerate(self.steps):
            for phrase in step.match:
                if _normalized(phrase) in item_name and (best is None or len(phrase) > best[0]):
                    best = (len(phrase), index)
        return None if best is None else best[1]


class FollowUpNext(_Strict):
    name: str = Field(min_length=1)
    match: list[str] = Field(min_length=1)
    doc_ids: list[str] = Field(default_factory=list)
    note: str = ""

    @field_validator("match")
    @classmethod
    def _check_match(cls, value: list[str]) -> list[str]:
        return _keywords(value)

    @field_validator("doc_ids", mode="before")
    @classmethod
    def _check_doc_ids(cls, value: object) -> object:
        return _doc_ids(value)


class FollowUp(_Strict):
    event: str = DEFAULT_FOLLOW_UP_EVENT
    after: list[str] = Field(min_length=1)
    when_status: list[Status] = Field(default_factory=lambda: ["approved", "completed"], min_length=1)
    next: FollowUpNext

    @field_validator("after")
    @classmethod
    def _check_after(cls, value: list[str]) -> list[str]:
        return _keywords(value)


class _FollowUpsFile(_Strict):
    rules: list[FollowUp] = Field(default_factory=list)


@dataclass(frozen=True)
class NextStep:
    """A suggestion for one citizen. ``event``, ``done``, ``next`` and ``reason`` are Chinese, for citizens."""

    event: str
    done: list[str]  # names of the event's steps already done; for a follow-up, the items that triggered it
    next: str
    doc_ids: list[str]
    reason: str
    note: str = ""


def _contains_any(text: str, phrases: Iterable[str]) -> bool:
    return any(_normalized(phrase) in text for phrase in phrases)


def _effective_history(history: Iterable[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """normalised item name -> (item name as given, furthest status)."""
    out: dict[str, tuple[str, str]] = {}
    for item_name, status in history:
        key = normalize(item_name).strip()
        if not key:
            continue
        status = (status or "").strip().lower()
        rank = _STATUS_RANK.get(status, _STATUS_RANK["submitted"])
        if key not in out or rank > _STATUS_RANK.get(out[key][1], 1):
            out[key] = (item_name.strip(), status)
    return out


@dataclass
class LifeEvents:
    events: list[Event]
    follow_ups: list[FollowUp] = field(default_factory=list)

    def get(self, name_or_id: str) -> Event | None:
        return next((e for e in self.events if name_or_id in (e.name, e.id)), None)

    def doc_ids(self) -> set[str]:
        """Every document id the files refer to (to check them against the corpus)."""
        ids = {doc_id for event in self.events for step in event.steps for doc_id in step.doc_ids}
        return ids | {doc_id for rule in self.follow_ups for doc_id in rule.next.doc_ids}

    def next_steps(self, history: Sequence[tuple[str, str]]) -> list[NextStep]:
        """What to do next, from ``history`` = [(item_name, status)]. For each event the citizen has started
        (an item matched a step that ``starts_event``), the first step not yet done, skipping an optional step
        once a later one is done; then every follow-up rule whose ``after`` item has a ``when_status`` status and
        whose ``next`` item is not in the history yet. A rejected item does not count as done (it does count as
        a start: the citizen still needs that step)."""
        items = _effective_history(history)
        out: list[NextStep] = []
        suggested: set[str] = set()
        for event in self.events:
            suggestion = self._event_step(event, items)
            if suggestion and suggestion.next not in suggested:
                suggested.add(suggestion.next)
                out.append(suggestion)
        for rule in self.follow_ups:
            suggestion = self._follow_up(rule, items)
            if suggestion and suggestion.next not in suggested:
                suggested.add(suggestion.next)
                out.append(suggestion)
        return out

    def _event_step(self, event: Event, items: dict[str, tuple[str, str]]) -> NextStep | None:
        by_step: dict[int, list[tuple[str, str]]] = {}
        for key, (name, status) in items.items():
            index = event.step_for(key)
            if index is not None:
                by_step.setdefault(index, []).append((name, status))
        if not any(event.steps[index].starts_event for index in by_step):
            return None
        done = {index for index, found in by_step.items() if any(status != "rejected" for _, status in found)}
        rejected = [
            name for index, found in sorted(by_step.items()) if index not in done for name, status in found
        ]
        for index, step in enumerate(event.steps):
            if index in done or (step.optional and any(later > index for later in done)):
                continue
            done_names = [event.steps[i].name for i in sorted(done)]
            parts = []
            if done_names:
                parts.append(f"您已办理：{'、'.join(done_names)}。")
            if rejected:
                parts.append(f"您申请的「{'、'.join(rejected)}」未获批准。")
            parts.append(f"“{event.name}”的下一步：{step.name}。")
            return NextStep(event.name, done_names, step.name, list(step.doc_ids), "".join(parts), step.note)
        return None

    def _follow_up(self, rule: FollowUp, items: dict[str, tuple[str, str]]) -> NextStep | None:
        triggers = [
            (name, status)
            for key, (name, status) in items.items()
            if status in rule.when_status and _contains_any(key, rule.after)
        ]
        if not triggers:
            return None
        if any(status != "rejected" and _contains_any(key, rule.next.match) for key, (_, status) in items.items()):
            return None  # already on its way
        name, status = triggers[0]
        reason = f"您的「{name}」{_STATUS_ZH.get(status, '已办理')}，接下来可以办理：{rule.next.name}。"
        return NextStep(
            rule.event, [n for n, _ in triggers], rule.next.name, list(rule.next.doc_ids), reason, rule.next.note
        )

    def event_for_question(self, text: str) -> Event | None:
        """The event a question is about, by the longest event name or keyword it contains (生孩子要办哪些手续
        -> 出生); ``None`` when none is named. On a tie the event listed first wins."""
        question = normalize(text)
        best: tuple[int, Event] | None = None
        for event in self.events:
            for phrase in (event.name, *event.keywords):
                if _normalized(phrase) in question and (best is None or len(phrase) > best[0]):
                    best = (len(phrase), event)
        return None if best is None else best[1]


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise LifeEventsError(f"{path}: not UTF-8 text (save the file as UTF-8)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise LifeEventsError(f"{path}: not valid YAML{where}: {problem}") from None


def _validation_message(path: Path, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (misspelt?)"
        problems.append(f"{loc}: {message}")
    return f"{path}: " + "; ".join(problems)


def load_life_events(directory: Path | str | None = None) -> LifeEvents:
    """Read and validate every ``*.yaml`` in ``directory`` (default: CORPUS_DIR/life_events): one event per
    file, in file-name order, plus the rules in ``follow_ups.yaml``. Raises ``LifeEventsError`` naming the file
    and field of the first problem found."""
    if directory is None:
        from zhengwu.config import get_settings

        directory = get_settings().corpus_dir / "life_events"
    directory = Path(directory)
    if not directory.is_dir():
        raise LifeEventsError(f"{directory}: life-event folder does not exist")

    events: list[Event] = []
    follow_ups: list[FollowUp] = []
    names: dict[str, Path] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = _read_yaml(path)
        try:
            if path.name == FOLLOW_UPS_FILE:
                follow_ups = _FollowUpsFile.model_validate(data if data is not None else {}).rules
                continue
            if not isinstance(data, dict):
                raise LifeEventsError(f"{path}: expected keys name, keywords and steps, found {type(data).__name__}")
            event = Event.model_validate({**data, "id": path.stem})
        except ValidationError as exc:
            raise LifeEventsError(_validation_message(path, exc)) from None
        if event.name in names:
            raise LifeEventsError(f"{path}: name: event {event.name!r} is already defined in {names[event.name].name}")
        names[event.name] = path
        events.append(event)
    if not events:
        raise LifeEventsError(f"{directory}: no life-event files (*.yaml)")
    return LifeEvents(events=events, follow_ups=follow_ups)
