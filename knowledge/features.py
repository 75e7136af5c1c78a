"""Turns a prepared message into the sparse features the learned model reads, as hashed bucket numbers.

Characters carry the topic even through typos; pinyin carries it through voice-input homophones (崔报/催报);
words carry it where characters are ambiguous; the request's structure (who asks, which role) is flagged.
Character and pinyin n-grams are hashed with numpy over code points, so a 300-character notice costs tens
of microseconds, not a thousand Python strings; the hash is our own, so buckets are the same in every process.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np

from knowledge.normalize import CLAUSE_MARK

BUCKET_BITS = 20  # about a million buckets: the corpus's quarter-million distinct n-grams rarely collide
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of the product are well mixed
_SHIFT = np.uint64(64 - BUCKET_BITS)
# Clause edges, as private-use characters: normalize() strips those from every message, so none is real text.
_END, _START = "\ue000", "\ue001"
# One salt per kind of n-gram, so a character bigram and a pinyin bigram never share a bucket by design.
_SALT = {"c1": 11, "c2": 12, "c3": 13, "tail2": 22, "tail3": 23, "py2": 32}


def _bucket(h: np.ndarray) -> np.ndarray:
    return ((h * _MULTIPLIER) >> _SHIFT).astype(np.int64)


_PRIME = np.uint64(0x100000001B3)
READING_TABLE_SIZE = 0xE002  # the Basic Multilingual Plane up to the clause marks


def message_buckets(text: str, reading_numbers: np.ndarray, tail_from: int | None) -> list[np.ndarray]:
    """Character 1–3-grams within clauses, pinyin bigrams within clauses, and the n-grams of an added demand.

    A clause break is no part of a term; a window may open on a clause's start mark or close on its end mark
    (so 2-grams know "starts the clause"), never span an end and the next start. `tail_from` is where a demand
    added to the request begins ("…，还要我们垫钱"): its 2- and 3-grams are counted once more, apart.
    """
    framed = _START + text.replace(CLAUSE_MARK, _END + _START) + _END
    codes = np.frombuffer(framed.encode("utf-32-le"), dtype=np.uint32)
    wide = codes.astype(np.uint64)
    mark = codes >= 0xE000
    crossing = (codes[:-1] == 0xE000) & (codes[1:] == 0xE001)
    h1 = wide
    h2 = h1[:-1] * _PRIME + wide[1:]
    h3 = h2[:-1] * _PRIME + wide[2:]
    bad3 = crossing[:-1] | crossing[1:]
    out = [_bucket(h1[~mark] ^ np.uint64(_SALT["c1"])), _bucket(h2[~crossing] ^ np.uint64(_SALT["c2"])),
           _bucket(h3[~bad3] ^ np.uint64(_SALT["c3"]))]
    if tail_from is not None:
        # Position in the framed codes: one start mark, and each clause break before it became two marks.
        start = tail_from + 1 + text.count(CLAUSE_MARK, 0, tail_from)
        out.append(_bucket(h2[start:][~crossing[start:]] ^ np.uint64(_SALT["tail2"])))
        out.append(_bucket(h3[start:][~bad3[start:]] ^ np.uint64(_SALT["tail3"])))
    numbers = reading_numbers[np.minimum(codes, READING_TABLE_SIZE - 1)].astype(np.uint64)
    p2 = numbers[:-1] * _PRIME + numbers[1:]
    out.append(_bucket(p2[~(mark[:-1] | mark[1:])] ^ np.uint64(_SALT["py2"])))
    return out


def named_buckets(names: Iterable[str]) -> np.ndarray:
    """Words and structure flags ("w:低保", "asker:commercial"), each by a stable hash of its name."""
    hashes = [zlib.crc32(name.encode()) for name in names]
    return _bucket(np.array(hashes, dtype=np.uint64)) if hashes else np.empty(0, dtype=np.int64)
