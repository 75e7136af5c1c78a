"""Term-level helpers built from the data files: synonym rewriting, homophones, departments, cues."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from knowledge.normalize import CLAUSE_MARK


class SynonymRewriter:
    """Rewrites every known variant (synonym, abbreviation, homophone, typo) to its canonical term."""

    def __init__(self, variants: dict[str, str]):
        self._map = dict(variants)
        ordered = sorted(self._map, key=len, reverse=True)  # longest first, so 城乡居民医保 beats 医保
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def rewrite(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._map[m.group(0)], text)


class Readings:
    """Toneless pinyin of every character, so voice-input homophones (底保/低保) compare equal.

    Built once from pypinyin's character table and kept in the knowledge base (and its cache), so answering
    a question never has to import pypinyin's large tables.
    """

    def __init__(self) -> None:
        from pypinyin.pinyin_dict import pinyin_dict  # only while building

        self._syllable: dict[str, str] = {}
        for codepoint, readings in pinyin_dict.items():
            first = readings.split(",")[0]
            plain = "".join(c for c in unicodedata.normalize("NFD", first) if not unicodedata.combining(c))
            self._syllable[chr(codepoint)] = plain

        # Each distinct reading gets a small number for the model's pinyin features (0 = no reading).
        numbers: dict[str, int] = {}
        self._number = {ch: numbers.setdefault(s, len(numbers) + 1) for ch, s in self._syllable.items()}

    def syllables(self, text: str) -> list[str]:
        """One reading per character (a character with none stands for itself)."""
        syllable = self._syllable
        return [syllable.get(ch, ch) for ch in text]

    def number_table(self, size: int) -> np.ndarray:
        """The reading of every code point below `size` as a small number (0: none), for vectorised look-up."""
        table = np.zeros(size, dtype=np.uint32)
        for ch, number in self._number.items():
            if ord(ch) < size:
                table[ord(ch)] = number
        return table


def compile_cue(value: str) -> re.Pattern:
    """A cue word, or a regular expression written `re:…`."""
    return re.compile(value[3:] if value.startswith("re:") else re.escape(value))


@dataclass(frozen=True)
class CueSet:
    """The role words of cues.yaml, compiled once."""

    negations: tuple[str, ...]
    assist_roles: tuple[str, ...]
    self_initiative: tuple[str, ...] = ()
    disclaimers: tuple[str, ...] = ()
    forbidden_roles: tuple[tuple[str, str], ...] = ()  # (role word, default C item)

    @classmethod
    def from_lists(cls, cues: dict[str, list[str]], forbidden_roles: Iterable[tuple[str, str]] = ()) -> CueSet:
        return cls(
            negations=tuple(cues.get("negations", ())),
            assist_roles=tuple(cues.get("assist_roles", ())),
            self_initiative=tuple(cues.get("self_initiative", ())),
            disclaimers=tuple(cues.get("disclaimers", ())),
            forbidden_roles=tuple(forbidden_roles),
        )

    def roles_and_denials(self, text: str) -> tuple[list[tuple[str, str]], list[tuple[int, int]]]:
        """Non-negated forbidden role words as written, each with its default item; and where a role word stands
        denied ("不用我们打卡排名"), so the model does not read it as demanded. One pass over the role words."""
        found, denied = [], []
        for (_, item_id), pattern, first in zip(self.forbidden_roles, self._role_patterns, self._role_first_chars,
                                                strict=True):
            if first and first not in text:
                continue
            live = None
            for m in pattern.finditer(text):
                if self.is_negated(text, m.start(), len(m.group(0))):
                    denied.append(m.span())
                elif live is None:
                    live = m.group(0)
            if live is not None:
                found.append((live, item_id))
        return found, denied

    @cached_property
    def _role_first_chars(self) -> tuple[str, ...]:
        """Each literal role word's first character (a cheap test before the search); "" for a pattern."""
        return tuple("" if word.startswith("re:") else word[0] for word, _ in self.forbidden_roles)

    @cached_property
    def _role_patterns(self) -> tuple[re.Pattern, ...]:
        return tuple(compile_cue(word) for word, _ in self.forbidden_roles)

    def is_negated(self, text: str, position: int, length: int = 0, window: int = 8) -> bool:
        """Whether the word at `position` is denied in its clause.

        A negation before it ("不是让我们收钱") or a disclaimer after it ("执法是派出所自己的事").
        """
        clause_start = text.rfind(CLAUSE_MARK, 0, position) + 1
        start = max(clause_start, position - window)
        # A negation may run into the word itself: "不收钱" denies 收钱 through 不收.
        reach = text[start:position + length]
        if any(0 <= reach.find(neg) < position - start for neg in self.negations):
            return True
        end = position + length
        clause_end = text.find(CLAUSE_MARK, end)
        after = text[end:clause_end if clause_end != -1 else len(text)][:window + 4]
        return any(neg in after for neg in self.disclaimers)

    def any_in(self, words: tuple[str, ...], text: str) -> list[str]:
        return [w for w in words if w in text]


class DepartmentIndex:
    """Guesses which department handed down the task, through the alias table."""

    def __init__(self, aliases: dict[str, str]):
        self._aliases = aliases
        ordered = sorted(aliases, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def guess(self, text: str, limit: int = 3) -> list[str]:
        """Canonical department names in the order they appear in the text."""
        if self._pattern is None:
            return []
        names: list[str] = []
        for m in self._pattern.finditer(text):
            name = self._aliases[m.group(0)]
            if name not in names:
                names.append(name)
        return names[:limit]

    def canonical(self, typed: str) -> str:
        """The canonical name for what a cadre typed; their own words when it is no known alias."""
        typed = typed.strip()
        if typed in self._aliases:
            return self._aliases[typed]
        found = self.guess(typed, limit=1)
        return found[0] if found else typed

    @property
    def names(self) -> list[str]:
        return sorted(set(self._aliases.values()))
