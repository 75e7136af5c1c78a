"""Text normalisation: traditional → simplified, full-width → half-width, punctuation and white space."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

# Clause separator kept in normalised text: negation never reaches across it.
CLAUSE_MARK = "，"

_t2s = opencc.OpenCC("t2s.json")
# Anything that ends a clause in Chinese or Western punctuation, or a line break.
_CLAUSE_BREAK = re.compile(r"[，,。.!！?？;；:：、\n\r\t|/\\~～…]+")
_MARKUP_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,40}>")
_DROP = re.compile(r"[\s\"'“”‘’「」『』《》〈〉()（）\[\]【】{}<>*_#`^=+@$%&·•—\-]+")


@lru_cache(maxsize=4096)
def _is_noise(ch: str) -> bool:
    category = unicodedata.category(ch)
    # Control, format (zero-width), surrogates, private use, unassigned, and symbols (emoji, dingbats).
    return category[0] == "C" or category in ("So", "Sk", "Mn", "Me")


def normalize(text: str) -> str:
    """Return the text in one canonical form for matching.

    Simplified Chinese, half-width letters and digits, lower case, no markup or emoji, and clause
    breaks collapsed to a single full-width comma so negation scope can be read off it.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _MARKUP_TAG.sub(" ", text)
    text = "".join(ch for ch in text if ch in "\n\t" or not _is_noise(ch))
    text = _t2s.convert(text).lower()
    text = _CLAUSE_BREAK.sub(CLAUSE_MARK, text)
    text = _DROP.sub("", text)
    text = re.sub(f"{CLAUSE_MARK}+", CLAUSE_MARK, text)
    return text.strip(CLAUSE_MARK)


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)
