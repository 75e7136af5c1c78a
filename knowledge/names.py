"""Masks people's names, so 张美华 is not read as 美化 nor 李建国 as a topic."""

from __future__ import annotations

from collections.abc import Callable

from knowledge.recovery import FUNCTION_CHARS as _FUNCTION_CHARS

PLACEHOLDER = "某人"


class NameMasker:
    """Names from jieba's dictionary (tag nr) and a common surname followed by unknown single characters."""

    def __init__(self, person_names: set[str], surnames: set[str]):
        self._surnames = frozenset(surnames)
        # jieba tags some plain words nr too (麦子, 玉佩): only those that start with a surname are names.
        self._names = frozenset(n for n in person_names if n[0] in self._surnames and len(n) <= 3)

    def mask(self, tokens: list[tuple[str, int, int]],
             misheard: Callable[[str], bool] = lambda _: False) -> list[tuple[str, int, int]]:
        """The tokens with each name replaced by one placeholder token (positions kept).

        A surname with one character after it is a name only where the two do not sound like a word:
        崔报 is 催报 mis-heard, 王芳 is a person.
        """
        out: list[tuple[str, int, int]] = []
        i, n = 0, len(tokens)
        while i < n:
            word, begin, end = tokens[i]
            if word in self._names:
                out.append((PLACEHOLDER, begin, end))
                i += 1
                continue
            if word in self._surnames:
                # 张 + 美 + 华: one or two single characters no word claims make a given name.
                j = i + 1
                while j < n and j - i <= 2 and len(tokens[j][0]) == 1 and "\u4e00" <= tokens[j][0] <= "\u9fff" \
                        and tokens[j][0] not in _FUNCTION_CHARS:
                    j += 1
                if j == i + 2 and misheard(word + tokens[i + 1][0]):
                    j = i + 1
                if j > i + 1:
                    out.append((PLACEHOLDER, begin, tokens[j - 1][2]))
                    i = j
                    continue
            out.append(tokens[i])
            i += 1
        return out


