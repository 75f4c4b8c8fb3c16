"""LawRefBook-style law files (``laws/``) -> law Markdown for the corpus.

Source layout (https://github.com/LawRefBook/Laws): one Markdown file per law and version, grouped in category
folders. A file starts with ``# 标题`` (and a second ``# 副标题`` line when a code is split into parts, such as
the 民法典), then history lines (``2007年6月29日 …通过``), then ``<!-- INFO END -->`` and the text with ``##``
chapter headings and ``第X条`` paragraphs. A version date may sit in the file name: ``劳动合同法(2012-12-28).md``.

What reaches the corpus, and why:
- only categories a citizen or front-line official needs (``INCLUDED_CATEGORIES`` and the Beijing local
  regulations); judicial interpretations address courts, and ``其他`` holds a blog-style guide and a
  technical standard, not official legal texts;
- only the latest version of each title, so an answer never quotes superseded wording;
- no law that a later text in the collection says it repeals (``…《X》同时废止``), because the source has no
  status field and a repealed law must never be used to answer.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from zhengwu.documents.corpus import GeneratedFile, safe_file_name

__all__ = [
    "BEIJING_FOLDER",
    "EXCLUDED_CATEGORIES",
    "INCLUDED_CATEGORIES",
    "LawSelection",
    "LawSource",
    "Repeal",
    "convert_law",
    "discover_laws",
    "law_doc_id",
    "normalize_title",
    "parse_law",
    "RepealMention",
    "repeal_mentions",
    "repealed_titles",
    "select_laws",
]

INCLUDED_CATEGORIES: tuple[str, ...] = (
    "宪法",
    "宪法相关法",
    "民法典",
    "民法商法",
    "行政法",
    "经济法",
    "社会法",
    "刑法",
    "诉讼与非诉讼程序法",
    "行政法规",
    "部门规章",
)
# Left out on purpose; the reason is printed in SOURCES.md.
EXCLUDED_CATEGORIES: dict[str, str] = {
    "司法解释": "Judicial interpretations address courts, not citizens.",
    "其他": "Not official legal texts: a blog-style guide and a technical standard.",
}
BEIJING_SOURCE = ("DLC", "北京地方法规", "地方性法规")
BEIJING_FOLDER = "北京地方性法规"
BEIJING = "北京市"
NATIONAL = "全国"
MINISTRY_RULES = "部门规章"
STATE_COUNCIL_REGULATIONS = "行政法规"

SOURCE_URL_BASE = "https://github.com/LawRefBook/Laws/blob/master/"
INFO_END = "<!-- INFO END -->"
PART_SEPARATOR = "·"

_FILE_DATE = re.compile(r"\((\d{4}-\d{2}-\d{2})\)$")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_WHITESPACE_RUN = re.compile(r"\s+")
_HEADING = re.compile(r"^(#{1,6})(?:\s+(.*))?$")
_ARTICLE_START = re.compile(r"^第[一二三四五六七八九十百千零〇两\d]+条")
_CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_EVENT_LINE = re.compile(r"^[（(]?\s*\d{4}\s*年")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
# Some files nest a title as <中华人民共和国X法>; the official form is 〈〉, and a Markdown renderer would
# swallow <…> as an HTML tag. Only brackets opening on a non-ASCII character are touched.
_ASCII_ANGLE_TITLE = re.compile(r"<([^<>\x00-\x7f][^<>\n]*)>")


# --- reading ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LawSource:
    """One source file, parsed. ``text`` is the law text after ``<!-- INFO END -->``, unformatted."""

    rel_path: str  # POSIX path relative to the laws folder
    category: str  # corpus folder: a category name, or BEIJING_FOLDER
    title: str  # full title; a part of a split code is "中华人民共和国民法典·合同编"
    version_date: str  # ISO date from the file name, "" when the file name has none
    history: tuple[str, ...]
    text: str
    ministry: str = ""  # the 部门规章 sub-folder, which names the issuing ministry

    @property
    def region(self) -> str:
        return BEIJING if self.category == BEIJING_FOLDER else NATIONAL

    @property
    def updated(self) -> str:
        """The version date, else the latest date the history lines mention, else ""."""
        if self.version_date:
            return self.version_date
        dates = [d for line in self.history for d in _dates_in(line)]
        return max(dates, default="")

    @property
    def department(self) -> str:
        return enacting_body(self.history, category=self.category, ministry=self.ministry)


def category_of(rel_path: PurePosixPath) -> tuple[str, str] | None:
    """(corpus folder, ministry) for a source path, or None when the file is not a law text at all."""
    parts = rel_path.parts
    if len(parts) < 2 or rel_path.name == "_index.md" or rel_path.suffix != ".md":
        return None  # README.md, the template, folder index pages
    if parts[: len(BEIJING_SOURCE)] == BEIJING_SOURCE:
        return BEIJING_FOLDER, ""
    if parts[0] == MINISTRY_RULES:
        return MINISTRY_RULES, parts[1] if len(parts) > 2 else ""
    return parts[0], ""


def parse_law(raw: str, *, rel_path: str, category: str, ministry: str = "") -> LawSource:
    """Split a source file into title, history lines and text."""
    raw = _INVISIBLE.sub("", raw.replace("\r\n", "\n").replace("\r", "\n"))
    raw = _strip_yaml_header(raw)
    if INFO_END in raw:
        header, text = raw.split(INFO_END, 1)
    else:
        header, text = _split_without_marker(raw)
    header = _HTML_COMMENT.sub("", header)

    headings: list[str] = []
    history: list[str] = []
    for line in header.split("\n"):
        line = _one_line(line)
        if not line:
            continue
        match = _HEADING.match(line)
        if match:
            if match.group(2):
                headings.append(_one_line(match.group(2)))
        else:
            history.append(_ASCII_ANGLE_TITLE.sub(r"〈\1〉", line))

    stem = PurePosixPath(rel_path).stem
    file_date = _FILE_DATE.search(stem)
    title = headings[0] if headings else _FILE_DATE.sub("", stem)
    if len(headings) > 1 and headings[1] != title:
        title = f"{title}{PART_SEPARATOR}{headings[1]}"
    return LawSource(
        rel_path=rel_path,
        category=category,
        title=title,
        version_date=file_date.group(1) if file_date else "",
        history=tuple(history),
        text=text,
        ministry=ministry,
    )


def discover_laws(laws_dir: Path) -> tuple[list[LawSource], Counter[str]]:
    """Parse every law file of an included category; count the files left out per excluded category."""
    sources: list[LawSource] = []
    excluded: Counter[str] = Counter()
    for path in sorted(laws_dir.rglob("*.md"), key=lambda p: p.relative_to(laws_dir).as_posix()):
        rel = PurePosixPath(path.relative_to(laws_dir).as_posix())
        placed = category_of(rel)
        if placed is None:
            continue
        category, ministry = placed
        if category != BEIJING_FOLDER and category not in INCLUDED_CATEGORIES:
            excluded[category] += 1
            continue
        raw = path.read_text(encoding="utf-8-sig")
        sources.append(parse_law(raw, rel_path=rel.as_posix(), category=category, ministry=ministry))
    return sources, excluded


def _strip_yaml_header(raw: str) -> str:
    """Some LawRefBook files begin with a Hugo ``---`` block (``bookHidden: true``); it is site config."""
    if raw.startswith("---\n"):
        end = raw.find("\n---", 4)
        if end != -1:
            return raw[end + 4 :].lstrip("\n")
    return raw


def _split_without_marker(raw: str) -> tuple[str, str]:
    """No ``<!-- INFO END -->``: the header ends where the first chapter heading or article begins."""
    lines = raw.split("\n")
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("##") or _ARTICLE_START.match(stripped):
            return "\n".join(lines[:index]), "\n".join(lines[index:])
    return raw, ""


def _one_line(value: str) -> str:
    return _WHITESPACE_RUN.sub(" ", value).strip()


def _dates_in(line: str) -> list[str]:
    found = []
    for year, month, day in _CN_DATE.findall(line.translate(_FULL_WIDTH_DIGITS)):
        try:
            found.append(date(int(year), int(month), int(day)).isoformat())
        except ValueError:
            continue  # a typo such as 2月30日 is not a date to sort by
    return found


# --- who enacted it --------------------------------------------------------------------------------------------

# Checked in order on the part of a history line before any 《 (a cited title names other bodies).
_BODIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"北京市(?:第[一二三四五六七八九十]+届)?(?:人民代表大会常务委员会|人大常委会)"), "北京市人民代表大会常务委员会"),
    (re.compile(r"北京市(?:第[一二三四五六七八九十]+届)?(?:人民代表大会|人大)"), "北京市人民代表大会"),
    (re.compile(r"北京市人民政府"), "北京市人民政府"),
    (re.compile(r"全国(?:人民代表大会常务委员会|人大常委会)"), "全国人民代表大会常务委员会"),
    (re.compile(r"全国(?:人民代表大会|人大)"), "全国人民代表大会"),
    (re.compile(r"国务院"), "国务院"),
)


def enacting_body(history: Iterable[str], *, category: str, ministry: str = "") -> str:
    """The body that enacted the text: read from the first dated history line that names one.

    A ministry rule is named by its folder. A 行政法规 is by definition made by the 国务院, so that is the
    fallback when its history lines are missing. Otherwise "" rather than a guess.
    """
    if category == MINISTRY_RULES and ministry:
        return ministry
    for line in history:
        if not _EVENT_LINE.match(line):
            continue  # notice headers and wrapped fragments, not enactment events
        own_words = re.split(r"[《<〈]", line, maxsplit=1)[0]
        for pattern, body in _BODIES:
            if pattern.search(own_words):
                return body
    return "国务院" if category == STATE_COUNCIL_REGULATIONS else ""


# --- choosing what to ship -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repeal:
    law: LawSource  # the latest version of the repealed title
    repealed_by: LawSource  # the text that says 《law》…废止
    effective: str = ""  # when the repeal takes effect, if the repealing text says (自…起施行)


@dataclass
class LawSelection:
    documents: list[LawSource] = field(default_factory=list)  # what is written, sorted by path
    older_versions: list[LawSource] = field(default_factory=list)
    duplicates: list[LawSource] = field(default_factory=list)  # same title and date in a second folder
    repealed: list[Repeal] = field(default_factory=list)
    # Repealed by a text that is not in force yet on the build date: still the law, so still shipped.
    repeal_pending: list[Repeal] = field(default_factory=list)


def normalize_title(title: str) -> str:
    """Titles as cited: 《中华人民共和国婚姻法》 and 《婚姻法》 name the same law."""
    return re.sub(r"\s+", "", title).replace("中华人民共和国", "")


def _version_key(source: LawSource) -> tuple[bool, str, int, str]:
    # A dated file beats an undated one; among equals the fuller text, then the path, decide (deterministic).
    return (bool(source.version_date), source.version_date, len(source.text), source.rel_path)


def select_laws(sources: list[LawSource], *, as_of: str) -> LawSelection:
    """Keep the latest version of each title, then drop titles a text in force on ``as_of`` repeals."""
    by_title: dict[str, list[LawSource]] = {}
    for source in sources:
        by_title.setdefault(source.title, []).append(source)

    selection = LawSelection()
    latest: list[LawSource] = []
    for versions in by_title.values():
        ordered = sorted(versions, key=_version_key, reverse=True)
        winner = ordered[0]
        latest.append(winner)
        for other in ordered[1:]:
            same_version = other.version_date == winner.version_date and other.version_date
            (selection.duplicates if same_version else selection.older_versions).append(other)

    repeals = _find_repeals(latest, scanned=sources)
    in_force = [r for r in repeals if not r.effective or r.effective <= as_of]
    repealed_paths = {repeal.law.rel_path for repeal in in_force}
    selection.documents = sorted((s for s in latest if s.rel_path not in repealed_paths), key=lambda s: s.rel_path)
    selection.repealed = sorted(in_force, key=lambda r: (r.law.category, r.law.title))
    selection.repeal_pending = sorted(
        (r for r in repeals if r.law.rel_path not in repealed_paths), key=lambda r: (r.law.category, r.law.title)
    )
    selection.older_versions.sort(key=lambda s: s.rel_path)
    selection.duplicates.sort(key=lambda s: s.rel_path)
    return selection


@dataclass(frozen=True)
class RepealMention:
    title: str  # as cited, e.g. 中华人民共和国婚姻法
    effective: str  # ISO date of 自…起施行 in the same article, "" when it names none (自公布之日起施行)


_TITLE_REF = re.compile(r"《([^《》]+)》")
_REPEAL_WORD = re.compile(r"(?:同时|即行|予以|一并)?废止")
_PARENTHETICAL = re.compile(r"（[^（）]*）|\([^()]*\)")
_LIST_SEPARATOR = re.compile(r"(?:[、，,]|以及|和|及|与)")
_SENTENCE_END = re.compile(r"[。；;！？\n]")
_TAKES_EFFECT = re.compile(r"自\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*起(?:施行|生效)")


def repeal_mentions(text: str) -> list[RepealMention]:
    """Titles a text declares repealed in full: ``《A》、1995年…发布的《B》同时废止``.

    Only titles that close a list running into the repeal word count, so ``《A》第十条同时废止`` or
    ``《A》中有关看守所的规定即行废止`` (partial repeals) and ``修改或者废止`` (procedure) do not.
    """
    found: dict[str, RepealMention] = {}
    for word in _REPEAL_WORD.finditer(text):
        sentence_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, word.start())), default=0)
        sentence = text[sentence_start : word.end()]
        refs = list(_TITLE_REF.finditer(sentence))
        # Walk back from the repeal word: each title must be followed only by a document number in brackets
        # and either the repeal word (the last one) or a list separator leading to the next repealed title.
        chain: list[str] = []
        for index in range(len(refs) - 1, -1, -1):
            ref = refs[index]
            end = refs[index + 1].start() if index + 1 < len(refs) else len(sentence)
            between = _PARENTHETICAL.sub("", sentence[ref.end() : end]).strip()
            is_last = index == len(refs) - 1
            if is_last and not _REPEAL_WORD.fullmatch(between):
                break
            if not is_last and not _LIST_SEPARATOR.match(between):
                break
            chain.append(_one_line(ref.group(1)))
        if not chain:
            continue
        # "本法自2021年1月1日起施行。《…》同时废止。": the date sits earlier in the same article.
        article = text[text.rfind("\n", 0, word.start()) + 1 : word.start()]
        effective = _TAKES_EFFECT.search(article)
        effective_date = (_dates_in(effective.group(1)) or [""])[0] if effective else ""
        for title in reversed(chain):
            found.setdefault(title, RepealMention(title=title, effective=effective_date))
    return list(found.values())


def repealed_titles(text: str) -> list[str]:
    return [mention.title for mention in repeal_mentions(text)]


def _find_repeals(latest: list[LawSource], *, scanned: list[LawSource]) -> list[Repeal]:
    """Which latest versions a scanned text repeals, comparing dates so a re-enacted title stays.

    Every version is scanned: an old version's ``《X》同时废止`` still records X's repeal. A text never repeals
    its own title (a 2019 条例 that replaces the 1995 条例 of the same name), and the repealed title's latest
    version must not be newer than the repealing text.
    """
    repealers: dict[str, list[tuple[LawSource, RepealMention]]] = {}
    for source in sorted(scanned, key=lambda s: s.rel_path):
        own = normalize_title(source.title)
        for mention in repeal_mentions(source.text):
            key = normalize_title(mention.title)
            if key and key != own:
                repealers.setdefault(key, []).append((source, mention))

    repeals: list[Repeal] = []
    for law in latest:
        key = normalize_title(law.title)
        candidates = [
            (by, mention)
            for by, mention in repealers.get(key, [])
            if by.updated and law.updated <= by.updated and normalize_title(by.title) != key
        ]
        if candidates:
            by, mention = min(candidates, key=lambda c: (c[1].effective or c[0].updated, c[0].rel_path))
            repeals.append(Repeal(law=law, repealed_by=by, effective=mention.effective))
    return repeals


# --- writing ---------------------------------------------------------------------------------------------------


def law_doc_id(title: str) -> str:
    return "law-" + hashlib.sha1(title.encode("utf-8")).hexdigest()[:10]


def source_url(rel_path: str) -> str:
    return SOURCE_URL_BASE + quote(rel_path, safe="/")


def law_body(source: LawSource) -> str:
    """``# title``, the history as quote lines, then headings and one paragraph per line of text."""
    parts = [f"# {source.title}"]
    if source.history:
        parts.append("\n".join(f"> {line}" for line in source.history))
    parts.extend(_text_blocks(source.text))
    return "\n\n".join(parts)


def _text_blocks(text: str) -> list[str]:
    lines = [_clean_text_line(line) for line in _HTML_COMMENT.sub("", text).split("\n")]
    lines = [line for line in lines if line]
    levels = [len(m.group(1)) for m in map(_HEADING.match, lines) if m]
    # The top chapter level becomes ##, the law title being the only #.
    shift = 2 - min(levels) if levels else 0
    blocks: list[str] = []
    for line in lines:
        match = _HEADING.match(line)
        if not match:
            blocks.append(line)
            continue
        heading = _one_line(match.group(2) or "")
        if heading:  # an empty "##" marks nothing
            level = min(max(len(match.group(1)) + shift, 2), 6)
            blocks.append(f"{'#' * level} {heading}")
    return blocks


def _clean_text_line(line: str) -> str:
    # strip() also removes the 全角 spaces some files indent paragraphs with; the wording is untouched.
    return _ASCII_ANGLE_TITLE.sub(r"〈\1〉", _INVISIBLE.sub("", line).strip())


def convert_law(source: LawSource) -> GeneratedFile:
    doc_id = law_doc_id(source.title)
    front = {
        "doc_id": doc_id,
        "title": source.title,
        "doc_type": "law",
        "region": source.region,
        "department": source.department,
        "updated": source.updated,
        "source_url": source_url(source.rel_path),
        "status": "active",
        "category": source.category,
        "promulgation": " ".join(source.history),
    }
    folder = safe_file_name(source.category, fallback="其他")
    name = safe_file_name(source.title, fallback=doc_id)
    return GeneratedFile(rel_path=f"laws/{folder}/{name}.md", front=front, body=law_body(source))
