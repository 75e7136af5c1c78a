"""Cuts text into words over jieba's dictionary and the knowledge base's terms (jieba's trimmed dictionary is
cached in a directory the app owns)."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import jieba

# jieba announces every dictionary load on the root of its own logger; that is noise for users.
jieba.setLogLevel(logging.WARNING)

# Function words that carry no meaning for matching.
STOPWORDS = frozenset(
    "的 了 吗 呢 吧 啊 呀 嘛 么 和 与 及 或 把 被 让 叫 要 给 对 在 是 都 也 还 就 又 再 这 那 个 一 下 "
    "我 我们 你 你们 他 他们 她 它 咱 咱们 这个 那个 什么 怎么 咋 能 会 说 想 去 来 做 搞 弄 帮 帮忙 "
    "一下 一个 不 没 有 没有 算 算不算 可以 不能 能不能 要求 通知 今年 每天 每月 每周 下周 上面 里 上".split()
)


# jieba's 349k-word dictionary takes most of a cold start to load. The 105k words it has seen at least this
# often load in a third of the time and cut cadres' messages the same way (the rest are rare names and idioms).
MIN_WORD_FREQ = 10
MAX_WORD = 6  # longer dictionary entries are idioms and names of institutions


def trimmed_jieba_dictionary(cache_dir: Path) -> Path | None:
    """jieba's dictionary without its rarest words, written once into the app's cache directory."""
    target = cache_dir / f"jieba-main-f{MIN_WORD_FREQ}.txt"
    if target.exists():
        return target
    source = Path(jieba.__file__).parent / "dict.txt"
    try:
        kept = [line for line in source.read_text(encoding="utf-8").splitlines()
                if len(parts := line.split()) >= 2 and int(parts[1]) >= MIN_WORD_FREQ]
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=cache_dir, delete=False, suffix=".tmp") as tmp:
            tmp.write("\n".join(kept) + "\n")
        os.replace(tmp.name, target)
        return target
    except (OSError, ValueError):
        return None  # fall back to jieba's full dictionary


class Tokenizer:
    """Cuts normalised text into words; loaded once per knowledge base."""

    def __init__(self, terms: set[str], cache_dir: Path | None = None):
        self._terms = sorted(t for t in terms if len(t) >= 2)
        self._cache_dir = cache_dir
        cache_dir = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "cadrebot-cache"
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            dictionary = trimmed_jieba_dictionary(cache_dir)
        except OSError:  # a read-only data directory only costs speed
            cache_dir, dictionary = None, None
        self._jieba = jieba.Tokenizer(str(dictionary)) if dictionary else jieba.Tokenizer()
        if cache_dir is not None:
            self._jieba.tmp_dir = str(cache_dir)
        self._jieba.initialize()

        # Forward maximum matching over jieba's dictionary and our terms: on a 300-character pasted notice
        # jieba's own DAG route costs 2 ms, this 0.2 ms, and the words it finds serve the model as well.
        self._lexicon = frozenset(w for w, freq in self._jieba.FREQ.items() if freq > 0 and 2 <= len(w) <= MAX_WORD)
        self._lexicon |= frozenset(t for t in self._terms if len(t) <= MAX_WORD)
        # For each first character, the lengths some word starting with it has, longest first.
        found: dict[str, set[int]] = {}
        for word in self._lexicon:
            found.setdefault(word[0], set()).add(len(word))
        self._sizes = {ch: tuple(sorted(lengths, reverse=True)) for ch, lengths in found.items()}

    # A cached knowledge base keeps the word list it cuts with; jieba itself is needed only to build it.
    def __getstate__(self) -> dict:
        return {"_terms": self._terms, "_cache_dir": self._cache_dir, "_lexicon": self._lexicon, "_sizes": self._sizes}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def tokens(self, text: str) -> list[tuple[str, int, int]]:
        """The text cut into words, longest known word first; unknown material one character at a time."""
        lexicon, sizes, out, i, n = self._lexicon, self._sizes, [], 0, len(text)
        while i < n:
            for size in sizes.get(text[i], ()):  # only the lengths some word starting so has, longest first
                if i + size <= n and text[i:i + size] in lexicon:
                    out.append((text[i:i + size], i, i + size))
                    i += size
                    break
            else:
                out.append((text[i], i, i + 1))
                i += 1
        return out

    def words(self, text: str) -> list[str]:
        """Meaningful words of the text, without punctuation or stopwords."""
        return meaningful(self.tokens(text))

    def dictionary(self) -> dict[str, int]:
        """Word → frequency, for every word jieba knows (its prefixes, stored with frequency 0, left out)."""
        return {word: freq for word, freq in self._jieba.FREQ.items() if freq > 0}

    def person_names(self) -> set[str]:
        """Words jieba's dictionary tags as person names (nr)."""
        source = Path(self._jieba.dictionary) if isinstance(self._jieba.dictionary, str) else None
        if source is None or not source.exists():
            source = Path(jieba.__file__).parent / "dict.txt"
        names = set()
        with source.open(encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and parts[2] == "nr" and len(parts[0]) >= 2:
                    names.add(parts[0])
        return names


def meaningful(tokens: list[tuple[str, int, int]]) -> list[str]:
    """The words among these tokens, without punctuation or stopwords."""
    return [w for w, _, _ in tokens if w.strip() and w not in STOPWORDS and w != "，"]

