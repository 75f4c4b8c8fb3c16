"""Chinese text primitives every layer shares: normalisation for matching, script checks, and the one
sentence splitter.

Sentence ends: a full stop (。！？) ends a sentence, a semicolon (；) ends a clause that reads as one; their ASCII
forms count too, because pasted text mixes them. ``split_sentences`` drops empty pieces (for checking and
chunking); ``sentence_pieces`` keeps every character, line breaks included (for streaming text out piece by piece,
where the pieces must join back to the text exactly).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import zhconv

FULL_STOPS = "。！？"
SENTENCE_ENDS = FULL_STOPS + "；!?;"
_AFTER_END = re.compile(rf"(?<=[{SENTENCE_ENDS}])")
_AFTER_END_OR_LINE = re.compile(rf"(?<=[{SENTENCE_ENDS}\n])")
_PUNCT_OR_SPACE = re.compile(r"^[\W_]+$", re.UNICODE)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def to_simplified(text: str) -> str:
    """Traditional characters (繁體) become simplified so they match the corpus."""
    return zhconv.convert(text, "zh-cn")


@lru_cache(maxsize=16384)  # the same question, title and passage texts are normalised many times per answer
def normalize(text: str) -> str:
    """Canonical form for matching (not for display): NFKC width folding, simplified script, lower case."""
    text = unicodedata.normalize("NFKC", text)
    return to_simplified(text).lower()


def is_punctuation(token: str) -> bool:
    """True for a token of punctuation or spaces only."""
    return bool(_PUNCT_OR_SPACE.match(token))


def han_ratio(text: str) -> float:
    """Share of Chinese characters among the letters of ``text`` (punctuation and spaces left out)."""
    letters = [c for c in text if not c.isspace() and not _PUNCT_OR_SPACE.match(c)]
    if not letters:
        return 0.0
    return sum(1 for c in letters if _HAN.match(c)) / len(letters)


def looks_english(text: str) -> bool:
    return han_ratio(text) < 0.2 and bool(_LATIN_WORD.search(text))


def split_sentences(text: str) -> list[str]:
    """Split at sentence ends, keeping the punctuation with its sentence; blank pieces are dropped."""
    return [s for s in _AFTER_END.split(text) if s.strip()]


def sentence_pieces(text: str) -> list[str]:
    """Split after every sentence end and line break; ``"".join(sentence_pieces(t)) == t``."""
    return [s for s in _AFTER_END_OR_LINE.split(text) if s]
