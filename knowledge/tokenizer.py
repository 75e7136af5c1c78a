"""A jieba tokenizer of our own, taught the knowledge base's terms, cached in a directory the app owns."""

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


class Tokenizer:
    """Cuts normalised text into words; loaded once per knowledge base."""

    def __init__(self, terms: set[str], cache_dir: Path | None = None):
        self._jieba = jieba.Tokenizer()
        cache_dir = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "cadrebot-cache"
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._jieba.tmp_dir = str(cache_dir)
        except OSError:
            pass  # a read-only data directory only costs jieba its cache
        self._jieba.initialize()
        for term in sorted(terms):
            if len(term) >= 2:
                self._jieba.add_word(term, freq=2000)

    def words(self, text: str) -> list[str]:
        """Meaningful words of the text, without punctuation or stopwords."""
        return [w for w in self._jieba.lcut(text, HMM=False) if len(w.strip()) > 0 and w not in STOPWORDS and w != "，"]


    def is_word(self, text: str) -> bool:
        """Whether this is a word in its own right (大家 is no mishearing of 打架, 物业 none of 无业)."""
        return self._jieba.FREQ.get(text, 0) > 0

    def boundaries(self, text: str) -> set[int]:
        """Positions where one word ends and the next begins.

        A sound-alike may only stand for a term where it does not cut through a real word: "维权知识" holds
        the sounds of 犬只 across two words, which is no mishearing of 犬只.
        """
        edges = {0, len(text)}
        for _, start, end in self._jieba.tokenize(text, HMM=False):
            edges.update((start, end))
        return edges


def default_cache_dir() -> Path:
    base = os.environ.get("CADREBOT_DATA_DIR", "").strip() or "data"
    return Path(base) / "cache"
