"""The jieba ``Analyzer`` shared by indexing and querying: tokens, the government user dictionary, synonyms,
stopwords. (Normalisation and sentences: ``zhengwu.chinese``.)

Documents and questions go through the same ``Analyzer``, so a colloquial word in a question (社保) meets the
official word in a document (社会保险) as the same token.

Beyond those one-word synonyms, ``colloquial.txt`` maps how citizens put things to the words the texts use
(酒驾 → 饮酒后驾驶; 被狗咬 → 饲养的动物): a question is searched a second time with those official words
(``expansion_tokens``), at a lower weight, so an expansion can help a question but never replace it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

import jieba

from zhengwu.chinese import is_punctuation, normalize

jieba.setLogLevel(logging.WARNING)

_RESOURCES = resources.files("zhengwu") / "resources"
# Colloquial terms this short are matched only as whole jieba words (they are added to the dictionary):
# as substrings, 离婚 would fire inside 离婚冷静期 and 狗 inside 狗肉.
SHORT_TERM = 3


def _resource_lines(name: str) -> list[str]:
    text = (_RESOURCES / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


class Analyzer:
    """jieba tokenizer with the government user dictionary, synonym folding and stopwords."""

    def __init__(self, extra_synonyms: Path | None = None) -> None:
        self._tokenizer = jieba.Tokenizer()
        self._lock = threading.Lock()
        self.canonical: dict[str, str] = {}
        for line in _resource_lines("synonyms.txt"):
            terms = line.split()
            for term in terms:
                self.canonical[normalize(term)] = normalize(terms[0])
        if extra_synonyms and extra_synonyms.exists():
            for line in extra_synonyms.read_text(encoding="utf-8").splitlines():
                terms = line.split()
                if terms and not line.startswith("#"):
                    for term in terms:
                        self.canonical[normalize(term)] = normalize(terms[0])
        self.stopwords = frozenset(w for line in _resource_lines("stopwords.txt") for w in line.split())
        self.colloquial = load_colloquial(_resource_lines("colloquial.txt") if (_RESOURCES / "colloquial.txt").is_file()
                                          else [])
        long_terms = sorted((t for t in self.colloquial if len(t) > SHORT_TERM), key=len, reverse=True)
        self._long_colloquial = re.compile("|".join(map(re.escape, long_terms))) if long_terms else None
        self._initialised = False

    @cached_property
    def fingerprint(self) -> str:
        """Changes when the dictionary, synonyms or stopwords change: stored tokens are then out of date."""
        blob = "\n".join(
            [(_RESOURCES / n).read_text(encoding="utf-8") for n in ("gov_userdict.txt", "synonyms.txt", "stopwords.txt")]
            + sorted(t for t in self.colloquial if len(t) <= SHORT_TERM)
            + [f"{k}={v}" for k, v in sorted(self.canonical.items())]
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def _ensure_dictionary(self) -> None:
        # jieba loads its 20 MB dictionary lazily; do it once, under a lock, with our words added.
        if self._initialised:
            return
        with self._lock:
            if self._initialised:
                return
            self._tokenizer.initialize()
            for line in _resource_lines("gov_userdict.txt"):
                parts = line.split()
                freq = int(parts[1]) if len(parts) > 1 else 20000
                self._tokenizer.add_word(parts[0], freq)
            for term in self.canonical:
                if len(term) > 1:
                    self._tokenizer.add_word(term, 20000)
            # Short colloquial terms jieba does not know become words (so 酒驾 is one token to match), at a
            # modest frequency: they must not re-cut the longer words of documents (起诉书, 违约金).
            for term in self.colloquial:
                if 1 < len(term) <= SHORT_TERM and term not in self.canonical and term not in self._tokenizer.FREQ:
                    self._tokenizer.add_word(term, 50)
            self._initialised = True

    def words(self, text: str) -> list[str]:
        """Plain jieba words of normalised text, punctuation dropped (used for F1 and keyword checks)."""
        self._ensure_dictionary()
        return [w for w in self._tokenizer.cut(normalize(text)) if w.strip() and not is_punctuation(w)]

    def plain_words(self, text: str) -> list[str]:
        """jieba's precise-mode segmentation of ``text`` as given, every character kept (for word boundaries)."""
        self._ensure_dictionary()
        return list(self._tokenizer.cut(text))

    def tokens(self, text: str) -> list[str]:
        """Retrieval tokens: search-mode jieba words, synonyms folded, stopwords removed."""
        self._ensure_dictionary()
        out: list[str] = []
        for word in self._tokenizer.cut_for_search(normalize(text)):
            word = word.strip()
            if not word or is_punctuation(word) or word in self.stopwords:
                continue
            out.append(self.canonical.get(word, word))
        return out

    def chunk_tokens(self, context: str, body: str) -> list[str]:
        """Tokens of a chunk's ``context`` (title, heading path) and body. The context repeats across every
        article of a law, so its tokens are computed once; the result equals ``tokens(context + "\n" + body)``
        because jieba never joins words across a line break."""
        return list(self._context_tokens(context)) + self.tokens(body)

    @lru_cache(maxsize=8192)  # noqa: B019 - one analyzer lives as long as the process
    def _context_tokens(self, context: str) -> tuple[str, ...]:
        return tuple(self.tokens(context))

    def official_terms(self, text: str) -> list[str]:
        """The official words for the colloquial terms in ``text`` (酒驾 → 饮酒后驾驶), in order, no repeats."""
        if not self.colloquial:
            return []
        normalized = normalize(text)
        found: list[str] = []
        if self._long_colloquial is not None:
            found += [m.group(0) for m in self._long_colloquial.finditer(normalized)]
        found += [w for w in self.plain_words(normalized) if len(w) <= SHORT_TERM and w in self.colloquial]
        out: list[str] = []
        for term in found:
            for official in self.colloquial[term]:
                if official not in out and official not in normalized:
                    out.append(official)
        return out

    def expansion_tokens(self, text: str) -> list[str]:
        """Retrieval tokens of the official words for ``text``, minus the tokens the text already has."""
        official = self.official_terms(text)
        if not official:
            return []
        own = set(self.tokens(text))
        # Single characters cut out of a phrase (后 of 饮酒后驾驶) match everything; a one-character official
        # word (犬) is kept.
        return [t for t in dict.fromkeys(self.tokens(" ".join(official)))
                if t not in own and (len(t) > 1 or t in official)]

    def content_terms(self, text: str) -> set[str]:
        """The distinct meaningful words of a question (precise mode, so no fragments such as 京市 of 北京市):
        what evidence must mention to count as relevant."""
        self._ensure_dictionary()
        out = set()
        for word in self._tokenizer.cut(normalize(text)):
            word = word.strip()
            if len(word) < 2 or is_punctuation(word) or word in self.stopwords:
                continue
            out.add(self.canonical.get(word, word))
        return out


def load_colloquial(lines: list[str]) -> dict[str, tuple[str, ...]]:
    """``colloquial … => official … # provenance`` lines → colloquial term → official terms. A term in several
    groups gets the union of their official words."""
    table: dict[str, tuple[str, ...]] = {}
    for line in lines:
        left, arrow, right = line.split("#", 1)[0].partition("=>")
        if not arrow:
            continue
        official = tuple(normalize(t) for t in right.split())
        for term in left.split():
            term = normalize(term)
            if term and official:
                table[term] = tuple(dict.fromkeys(table.get(term, ()) + official))
    return table


@lru_cache(maxsize=1)
def default_analyzer() -> Analyzer:
    return Analyzer()
