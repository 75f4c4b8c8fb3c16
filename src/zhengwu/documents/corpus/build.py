"""Build the default ``corpus/`` folder from the raw government data (``zhengwu corpus build``).

The build is deterministic (same input, byte-identical output) so a rebuild shows up in version control only
where the data changed. It owns two folders, ``service_guides/`` and ``laws/``, plus ``SOURCES.md``: generated
files there that the data no longer produces are deleted. Everything else in the corpus folder (README.md,
hand-written documents in other folders) is left alone, and a hand-written document whose ``doc_id`` matches a
generated one replaces it, so a correction made by staff survives the next rebuild.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml
from tqdm import tqdm

from zhengwu.documents.corpus import GeneratedFile, gd_guides, laws
from zhengwu.errors import OperatorError

__all__ = ["BuildReport", "SourceDataError", "build_corpus"]

GUIDES_DIR = "service_guides"
LAWS_DIR = "laws"
GENERATED_DIRS = (GUIDES_DIR, LAWS_DIR)
SOURCES_FILE = "SOURCES.md"
GUIDE_FILE = Path("gd_service_guides") / "policy.json"
LAWS_SOURCE = Path("laws")


class SourceDataError(OperatorError):
    """The raw data folder is not what the build expects; the message tells the operator what to fix."""


@dataclass(frozen=True)
class RepealedLaw:
    title: str
    category: str
    updated: str  # the repealed title's latest version
    repealed_by: str
    repealed_by_updated: str
    effective: str  # when the repeal takes effect, "" if the repealing text does not say


@dataclass
class BuildReport:
    guides_written: int = 0
    guides_per_region: dict[str, int] = field(default_factory=dict)
    laws_written: int = 0
    laws_per_category: dict[str, int] = field(default_factory=dict)
    laws_skipped_older: int = 0  # an older version of a title that is shipped
    laws_skipped_duplicate: int = 0  # the same title and version filed in a second category folder
    laws_excluded: dict[str, int] = field(default_factory=dict)  # files per left-out category (司法解释, 其他)
    laws_repealed: list[RepealedLaw] = field(default_factory=list)
    laws_repeal_pending: list[RepealedLaw] = field(default_factory=list)  # repeal not in force yet: shipped
    overridden_by_hand: list[str] = field(default_factory=list)  # doc_ids a hand-written file replaces
    files_changed: int = 0  # written because new or different
    stale_removed: int = 0

    @property
    def categories(self) -> list[str]:
        return sorted(self.laws_per_category)

    def summary(self) -> str:
        regions = ", ".join(f"{name} {count}" for name, count in sorted(self.guides_per_region.items()))
        lines = [
            f"Service guides written: {self.guides_written} ({regions})",
            f"Laws written: {self.laws_written} in {len(self.laws_per_category)} categories",
            f"Older law versions skipped: {self.laws_skipped_older}",
            f"Duplicate copies skipped: {self.laws_skipped_duplicate}",
            f"Repealed laws left out: {len(self.laws_repealed)}",
            f"Repeals not yet in force (laws kept): {len(self.laws_repeal_pending)}",
            f"Files left out by category: {sum(self.laws_excluded.values())}",
            f"Replaced by hand-written files: {len(self.overridden_by_hand)}",
            f"Files created or changed: {self.files_changed}; stale files removed: {self.stale_removed}",
        ]
        return "\n".join(lines)


def build_corpus(
    source_dir: Path, out_dir: Path, *, progress: bool = True, as_of: date | None = None
) -> BuildReport:
    """Convert ``source_dir/gd_service_guides`` and ``source_dir/laws`` into Markdown under ``out_dir``.

    ``as_of`` (default: today) decides whether a repeal with a future effective date (``本法自2026年1月1日起
    施行。《X》同时废止``) already applies; the output is identical for any two runs with the same data and date.
    """
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    as_of_iso = (as_of or date.today()).isoformat()
    guide_file, laws_dir = _check_source(source_dir)
    report = BuildReport()

    files: list[GeneratedFile] = []
    files.extend(_guide_files(guide_file, report, progress=progress))
    files.extend(_law_files(laws_dir, report, progress=progress, as_of=as_of_iso))

    hand_written = _hand_written_ids(out_dir)
    kept = [f for f in files if f.doc_id not in hand_written]
    report.overridden_by_hand = sorted(f.doc_id for f in files if f.doc_id in hand_written)

    out_dir.mkdir(parents=True, exist_ok=True)
    expected: set[Path] = set()
    for generated in kept:
        target = out_dir / generated.rel_path
        expected.add(target)
        report.files_changed += _write_if_changed(target, generated.render())
    report.stale_removed = _remove_stale(out_dir, expected)
    report.files_changed += _write_if_changed(out_dir / SOURCES_FILE, sources_markdown(report))
    return report


# --- inputs ----------------------------------------------------------------------------------------------------


def _check_source(source_dir: Path) -> tuple[Path, Path]:
    if not source_dir.is_dir():
        raise SourceDataError(f"Source folder '{source_dir}' does not exist or is not a folder.")
    guide_file = source_dir / GUIDE_FILE
    laws_dir = source_dir / LAWS_SOURCE
    missing = []
    if not guide_file.is_file():
        missing.append(f"'{GUIDE_FILE.as_posix()}' (the Guangdong service guide records)")
    if not laws_dir.is_dir():
        missing.append(f"'{LAWS_SOURCE.as_posix()}/' (the folder of law Markdown files)")
    if missing:
        raise SourceDataError(
            f"Source folder '{source_dir}' is missing {' and '.join(missing)}. "
            "Point --source at the folder that holds both gd_service_guides/ and laws/."
        )
    return guide_file, laws_dir


def _guide_files(guide_file: Path, report: BuildReport, *, progress: bool) -> list[GeneratedFile]:
    try:
        records = list(gd_guides.iter_guide_records(guide_file))
    except (OSError, UnicodeDecodeError, gd_guides.GuideDataError) as exc:
        raise SourceDataError(f"Cannot read the service guides: {exc}") from exc
    by_code: dict[str, GeneratedFile] = {}
    for record in tqdm(records, desc="Service guides", unit="guide", disable=not progress):
        generated = gd_guides.convert_guide(record)
        # An item code is unique on the portal; should a snapshot repeat one, the first record wins.
        by_code.setdefault(generated.doc_id, generated)
    files = sorted(by_code.values(), key=lambda f: f.rel_path)
    report.guides_written = len(files)
    report.guides_per_region = dict(sorted(Counter(str(f.front["region"]) for f in files).items()))
    return files


def _law_files(laws_dir: Path, report: BuildReport, *, progress: bool, as_of: str) -> list[GeneratedFile]:
    try:
        sources, excluded = laws.discover_laws(laws_dir)
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceDataError(f"Cannot read the law files under '{laws_dir}': {exc}") from exc
    if not sources:
        raise SourceDataError(f"No law files found under '{laws_dir}' in the expected category folders.")
    selection = laws.select_laws(sources, as_of=as_of)
    files: dict[str, GeneratedFile] = {}
    for source in tqdm(selection.documents, desc="Laws", unit="law", disable=not progress):
        generated = laws.convert_law(source)
        if generated.rel_path in files:  # two titles that differ only in characters a file name cannot hold
            stem = generated.rel_path.removesuffix(".md")
            generated = GeneratedFile(f"{stem}_{generated.doc_id}.md", generated.front, generated.body)
        files[generated.rel_path] = generated

    report.laws_written = len(files)
    report.laws_per_category = dict(sorted(Counter(s.category for s in selection.documents).items()))
    report.laws_skipped_older = len(selection.older_versions)
    report.laws_skipped_duplicate = len(selection.duplicates)
    report.laws_excluded = dict(sorted(excluded.items()))
    report.laws_repealed = [_repealed_law(r) for r in selection.repealed]
    report.laws_repeal_pending = [_repealed_law(r) for r in selection.repeal_pending]
    return sorted(files.values(), key=lambda f: f.rel_path)


def _repealed_law(repeal: laws.Repeal) -> RepealedLaw:
    return RepealedLaw(
        title=repeal.law.title,
        category=repeal.law.category,
        updated=repeal.law.updated,
        repealed_by=repeal.repealed_by.title,
        repealed_by_updated=repeal.repealed_by.updated,
        effective=repeal.effective,
    )


def _hand_written_ids(out_dir: Path) -> set[str]:
    """doc_ids of Markdown files staff keep outside the generated folders (front matter ``doc_id``)."""
    ids: set[str] = set()
    if not out_dir.is_dir():
        return ids
    for path in sorted(out_dir.rglob("*.md")):
        rel = path.relative_to(out_dir)
        if rel.parts[0] in GENERATED_DIRS or rel.parts[0].startswith("."):
            continue
        if len(rel.parts) == 1 and rel.name.lower() in {"readme.md", SOURCES_FILE.lower()}:
            continue
        doc_id = _front_matter_doc_id(path)
        if doc_id:
            ids.add(doc_id)
    return ids


def _front_matter_doc_id(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return ""
    if not text.startswith("---"):
        return ""
    end = text.find("\n---", 3)
    if end == -1:
        return ""
    try:
        values = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return ""  # a broken file is reported by `zhengwu ingest`, not here
    return str(values.get("doc_id") or "").strip() if isinstance(values, dict) else ""


# --- outputs ---------------------------------------------------------------------------------------------------


def _write_if_changed(target: Path, content: str) -> int:
    """Write only when the bytes differ, so an unchanged document keeps its mtime and is not re-indexed."""
    data = content.encode("utf-8")
    if target.is_file() and target.read_bytes() == data:
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return 1


def _remove_stale(out_dir: Path, expected: set[Path]) -> int:
    """Delete generated Markdown files no longer produced, then folders left empty."""
    removed = 0
    for folder in GENERATED_DIRS:
        root = out_dir / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.md")):
            if path not in expected:
                path.unlink()
                removed += 1
        for directory in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            if not any(directory.iterdir()):
                directory.rmdir()
    return removed


def sources_markdown(report: BuildReport) -> str:
    """SOURCES.md: provenance, licences, selection rules and counts of this build."""
    guide_regions = "\n".join(f"| {name} | {count} |" for name, count in report.guides_per_region.items())
    law_categories = "\n".join(
        f"| {name} | {'北京市' if name == laws.BEIJING_FOLDER else '全国'} | {count} |"
        for name, count in report.laws_per_category.items()
    )
    excluded = "\n".join(
        f"- {name}: {count} files. {laws.EXCLUDED_CATEGORIES.get(name, 'Not a category this corpus ships.')}"
        for name, count in report.laws_excluded.items()
    ) or "- none"
    repealed = "\n".join(_repeal_line(r) for r in report.laws_repealed) or "- none"
    pending = "\n".join(_repeal_line(r) for r in report.laws_repeal_pending) or "- none"
    overridden = "\n".join(f"- {doc_id}" for doc_id in report.overridden_by_hand) or "- none"
    included = "、".join(laws.INCLUDED_CATEGORIES)
    return _SOURCES_TEMPLATE.format(
        guides=report.guides_written,
        guide_regions=guide_regions,
        laws=report.laws_written,
        law_categories=law_categories,
        included=included,
        older=report.laws_skipped_older,
        duplicates=report.laws_skipped_duplicate,
        excluded=excluded,
        repealed_count=len(report.laws_repealed),
        repealed=repealed,
        pending_count=len(report.laws_repeal_pending),
        pending=pending,
        overridden=overridden,
        portal=gd_guides.PORTAL_HOME,
        url_base=laws.SOURCE_URL_BASE,
    )


def _repeal_line(repealed: RepealedLaw) -> str:
    effective = f", in force from {repealed.effective}" if repealed.effective else ""
    return (
        f"- {repealed.title} (`{repealed.category}`, version {repealed.updated or 'undated'}): repealed by "
        f"{repealed.repealed_by} (version {repealed.repealed_by_updated}{effective})"
    )


_SOURCES_TEMPLATE = """\
# Sources of this corpus

Generated by `zhengwu corpus build`; do not edit by hand (a rebuild overwrites it). Everything here is public
government information. What each source is, under which terms it is shipped, and what was left out:

## 1. Guangdong service guides (办事指南) — `service_guides/`

- **What**: {guides} 办事指南 records of the Guangdong government service portal 广东政务服务网
  (<{portal}>), snapshot of 2021: the provincial departments (`广东省/`) and the city of Guangzhou
  (`广州市/`). One file per item, named by its official 事项编码 (`doc_id`).
- **Obtained from**: the repository Clarence-Kong/QABasedOnPolicyKnowledgeGraph (`policy.json`).
- **Licence**: MIT. Copyright (c) 2021 clarencekong. The MIT permission notice applies to the dataset as
  published in that repository; the guides themselves are public administrative information.
- **Links**: `source_url` is the link the portal listed for the item: for items handled on the unified
  platform `https://www.gdzwfw.gov.cn/gaio/apply.html#/<事项编码>`, otherwise the department's own system.
  Items the portal gave no link (no online service) point to the portal home page, where the item can be
  found by its 事项编码; their body says `办事指南链接：无`.
- **`updated`**: the date the record was captured (from the record's database id), not a date the
  department published.
- **Limits**: the guides list 申请材料 by name only (no forms, copies or originals); they carry no 办理流程
  (procedure steps) and no 收费 (fee) detail. A field the source leaves empty is written as `无`. Details may
  have changed since 2021: a deployment should bring its own, current guides.

| region | guides |
| --- | --- |
{guide_regions}

## 2. Laws and regulations — `laws/`

- **What**: {laws} official legal texts: national laws, administrative regulations, ministry rules and the
  local regulations of Beijing (`region: 北京市`; everything else is `全国`).
- **Obtained from**: the LawRefBook/Laws collection (<https://github.com/LawRefBook/Laws>), which gathers
  the texts from the national law database flk.npc.gov.cn. `source_url` points to the source file:
  `{url_base}<path>`.
- **Licence**: official legislative, administrative and judicial texts are not protected by copyright
  (《中华人民共和国著作权法》第五条). The files were re-formatted for this corpus: one paragraph per line of
  text, history lines as quotes, heading levels normalised. The wording is unchanged.

| folder | region | laws |
| --- | --- | --- |
{law_categories}

### Selection rules

- Categories shipped: {included}, and the Beijing 地方性法规 (folder `北京地方性法规`).
- Latest version only: of several versions of one title the one with the latest version date is shipped; a
  file without a date loses to one with a date unless it is the only one. Older versions left out: {older}.
  The same title and version filed in two category folders is shipped once; copies left out: {duplicates}.
- The 民法典 is shipped as its parts, each its own document (`中华人民共和国民法典·合同编` …).
- Repealed texts are left out. The source has no status field, so repeal is read from the texts
  themselves: a provision such as `本法自2021年1月1日起施行。《中华人民共和国婚姻法》……同时废止。` (also
  `即行废止`, `予以废止`). A title is left out when such a provision names it in full (not just one of its
  articles), the repealing text is not a version of the same title, the title's latest version is not
  newer than the repealing text, and the repeal has taken effect on the build date (`自…起施行` in the same
  article). A repeal that takes effect later is listed below and applied by the first rebuild after that
  date.

### Left out by category

{excluded}

### Left out as repealed ({repealed_count})

{repealed}

### Repeal not yet in force on the build date: still shipped ({pending_count})

{pending}

## 3. Replaced by hand-written documents

Generated documents whose `doc_id` a staff-maintained file elsewhere in this folder also uses; that file is
shipped instead:

{overridden}

## Not shipped

The Beijing government FAQ answers (北京市 人社, 医保, 公积金, 交管, 首都之窗 …; MSGABench) and the real citizen
messages to a provincial 问政 platform (2020 泰迪杯 data) are **not** part of this corpus and must not be
added to it: no licence is stated for either. They are used for evaluation only, read from an explicit path
outside the project.
"""
