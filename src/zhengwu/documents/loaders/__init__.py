"""Stage 1 of the data path: turn files on disk into ``Document`` objects.

Document -> Chunk -> Index -> Retriever -> Answer -> Channel.

Supported inputs: Markdown with optional YAML front matter (docs/corpus-format.md), plain text, HTML, PDF,
DOCX, and JSONL knowledge bases (one ``{"id", "title", "text", "metadata"}`` record per line).

A bad file never stops a load: ``load_paths`` records a ``LoadError`` whose reason an operator can act on and
carries on with the next file. ``load_file`` raises ``LoadFailure`` instead, for callers handling one file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from zhengwu.documents.document import Document, LoadError
from zhengwu.documents.loaders._common import LoadFailure, clean_line, clean_text, decode_text, require_body

__all__ = [
    "MAX_FILE_BYTES",
    "SUPPORTED_SUFFIXES",
    "LoadFailure",
    "LoadResult",
    "load_file",
    "load_paths",
]

MAX_FILE_BYTES = 50 * 1024 * 1024

_MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
_HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {*_MARKDOWN_SUFFIXES, *_HTML_SUFFIXES, ".txt", ".pdf", ".docx", ".jsonl"}
)

# Repository documentation that sits next to corpus files but is not itself a document (compared lower-case).
SKIPPED_FILE_NAMES = frozenset({"readme.md", "sources.md"})

_MAX_REASONS_IN_SUMMARY = 3


@dataclass
class LoadResult:
    documents: list[Document]
    errors: list[LoadError]
    files_seen: int


def load_paths(paths: Iterable[Path], *, root: Path | None = None) -> LoadResult:
    """Load every supported file under ``paths`` (files or directories), collecting errors instead of raising.

    Directories are walked recursively in sorted order, skipping hidden entries, README.md / SOURCES.md and
    unsupported suffixes. A file reached twice (a directory and a file inside it) is loaded once. When two
    documents share a ``doc_id`` the first wins and the later one is reported as an error.
    ``files_seen`` counts the supported files that were attempted, whether or not they loaded.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [Path(paths)]
    documents: list[Document] = []
    errors: list[LoadError] = []
    first_source_by_id: dict[str, str] = {}
    files_seen = 0

    for file_path, path_error in _iter_candidate_files(paths):
        if path_error is not None:
            errors.append(path_error)
            continue
        files_seen += 1
        try:
            loaded, record_errors = _load_one(file_path, root=root)
        except LoadFailure as exc:
            errors.append(LoadError(path=str(file_path), reason=exc.reason))
            continue
        except Exception as exc:  # noqa: BLE001 - a parser bug on one file must not stop the whole ingest
            errors.append(LoadError(path=str(file_path), reason=f"unexpected error: {type(exc).__name__}: {exc}"))
            continue
        errors.extend(record_errors)
        for document, source in loaded:
            first = first_source_by_id.get(document.doc_id)
            if first is not None:
                reason = f"duplicate doc_id '{document.doc_id}' in {source}: already loaded from {first}; skipped"
                errors.append(LoadError(path=source, reason=reason))
                continue
            first_source_by_id[document.doc_id] = source
            documents.append(document)

    return LoadResult(documents=documents, errors=errors, files_seen=files_seen)


def load_file(path: Path, *, root: Path | None = None, errors: list[LoadError] | None = None) -> list[Document]:
    """Load one file; raise ``LoadFailure`` if it cannot be used.

    A JSONL knowledge base can be partly bad. If ``errors`` is given, its bad lines are appended there and the
    good records returned; otherwise any bad line raises ``LoadFailure``, so nothing is dropped silently.
    """
    loaded, record_errors = _load_one(Path(path), root=root)
    if record_errors:
        if errors is None:
            raise LoadFailure(_summarise_record_errors(record_errors))
        errors.extend(record_errors)
    return [document for document, _source in loaded]


# --- walking ---------------------------------------------------------------------------------------------------


def _iter_candidate_files(paths: Iterable[Path]) -> Iterator[tuple[Path, LoadError | None]]:
    """Yield each file to load once, in a deterministic order, or an error for a path that cannot be used."""
    seen: set[str] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = _walk_directory(path)
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                # Named explicitly, so the operator expects it to load: say why it does not.
                yield path, LoadError(path=str(path), reason=_unsupported_reason(path))
                continue
            candidates = [path]
        else:
            yield path, LoadError(path=str(path), reason="path does not exist")
            continue
        for candidate in candidates:
            key = os.path.realpath(candidate)
            if key not in seen:
                seen.add(key)
                yield candidate, None


def _walk_directory(directory: Path) -> list[Path]:
    found: list[Path] = []
    visited: set[str] = set()

    def walk(current: Path) -> None:
        real = os.path.realpath(current)
        if real in visited:  # a symlink loop would otherwise recurse forever
            return
        visited.add(real)
        try:
            entries = sorted(current.iterdir(), key=lambda entry: entry.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                walk(entry)
            elif _is_corpus_file(entry):
                found.append(entry)

    walk(directory)
    return found


def _is_corpus_file(path: Path) -> bool:
    return (
        path.is_file()
        and path.suffix.lower() in SUPPORTED_SUFFIXES
        and path.name.lower() not in SKIPPED_FILE_NAMES
    )


def _unsupported_reason(path: Path) -> str:
    return f"unsupported file type '{path.suffix or path.name}' (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"


# --- one file --------------------------------------------------------------------------------------------------


def _load_one(path: Path, *, root: Path | None) -> tuple[list[tuple[Document, str]], list[LoadError]]:
    """Return ((document, source label) pairs, per-record errors); raise ``LoadFailure`` for a bad file."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadFailure(_unsupported_reason(path))
    data = _read_bytes(path)
    display = _display_path(path, root)
    if suffix == ".jsonl":
        from zhengwu.documents.loaders._jsonl import load_jsonl

        return load_jsonl(data, path_label=str(path), display=display)

    # Format modules are imported on first use: pypdf, python-docx and bs4 cost start-up time.
    options = {"stem": path.stem, "display": display, "fallback_id": _path_doc_id(path, root)}
    if suffix in _MARKDOWN_SUFFIXES:
        from zhengwu.documents.loaders._markdown import markdown_document

        document = markdown_document(decode_text(data), **options)
    elif suffix in _HTML_SUFFIXES:
        from zhengwu.documents.loaders._html import html_document

        document = html_document(decode_text(data), **options)
    elif suffix == ".pdf":
        from zhengwu.documents.loaders._pdf import pdf_document

        document = pdf_document(data, **options)
    elif suffix == ".docx":
        from zhengwu.documents.loaders._docx import docx_document

        document = docx_document(data, **options)
    else:  # .txt
        body = require_body(clean_text(decode_text(data)))
        document = Document(doc_id=options["fallback_id"], title=clean_line(path.stem), body=body, path=display)
    return [(document, str(path))], []


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        # Checked before reading, so a stray multi-GB dump never lands in memory.
        if size > MAX_FILE_BYTES:
            raise LoadFailure(f"file is larger than {_human_size(MAX_FILE_BYTES)} ({_human_size(size)})")
        return path.read_bytes()
    except OSError as exc:
        raise LoadFailure(f"could not read file: {exc.strerror or exc}") from exc


def _human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} KB"
    return f"{n} bytes"


def _display_path(path: Path, root: Path | None) -> str:
    """``Document.path``: relative to ``root`` (POSIX separators) when possible, else the path as passed."""
    relative = _relative_to_root(path, root)
    return relative if relative is not None else str(path)


def _relative_to_root(path: Path, root: Path | None) -> str | None:
    if root is None:
        return None
    try:
        # abspath, not resolve(): a symlinked corpus file keeps its in-corpus name.
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return None


def _path_doc_id(path: Path, root: Path | None) -> str:
    """A stable id for a file that has none: unchanged across re-ingests while the file keeps its place."""
    relative = _relative_to_root(path, root)
    key = relative if relative is not None else path.name
    return "file-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def _summarise_record_errors(errors: list[LoadError]) -> str:
    shown = "; ".join(f"line {e.path.rsplit(':', 1)[-1]}: {e.reason}" for e in errors[:_MAX_REASONS_IN_SUMMARY])
    more = len(errors) - _MAX_REASONS_IN_SUMMARY
    return f"{len(errors)} bad record(s): {shown}" + (f"; and {more} more" if more > 0 else "")
