"""Recovers mis-heard and mistyped words by their sound: 崔报→催报, 赡样→赡养, 政明→证明, 灯迷→灯谜.

Only material that is no word of its own is touched (jieba cuts it into single characters), and a
replacement must keep at least one character in place, so real words and names are never rewritten
into topics ("大家" stays, and a masked name is no longer there to be misread).
"""

from __future__ import annotations

from knowledge.vocabulary import Readings

COMMON_CHAR_FREQ = 8000  # jieba words rarer than this are not worth recovering into
LENGTHS = (4, 3, 2)


class SoundAlikes:
    """Toneless pinyin of every known word → the words that sound so, the project's own terms first."""

    def __init__(self, readings: Readings, terms: set[str], dictionary: dict[str, int], protected: set[str]):
        self.readings = readings
        self._protected = frozenset(protected)
        # Only the knowledge base's own vocabulary is recovered into: measured over the corpus, jieba's 100k
        # words as targets rewrote one message in eight (喊→汉, 违→位), the terms alone one in twenty-two, nearly
        # all true (普茶→普查, 打咔→打卡). jieba's dictionary still decides what is a real word already.
        candidates: dict[tuple[str, ...], set[str]] = {}
        for term in terms:
            if 2 <= len(term) <= 4 and _all_cjk(term):
                candidates.setdefault(tuple(readings.syllables(term)), set()).add(term)
        self._words = {key: tuple(sorted(found, reverse=True)) for key, found in candidates.items()}
        # Characters that are everyday words on their own (人, 收, 见): two of them side by side are two words
        # ("的人收介绍费"), not a mis-heard 人手.
        self._common = frozenset(w for w, freq in dictionary.items() if len(w) == 1 and freq >= COMMON_CHAR_FREQ)

    def _best(self, window: str, syllables: list[str]) -> str | None:
        for word in self._words.get(tuple(syllables), ()):
            if word != window and any(a == b for a, b in zip(word, window, strict=False)):
                return word
        return None

    def misheard(self, window: str) -> bool:
        """Whether these characters sound like a known word that shares one of them in place."""
        return self._best(window, self.readings.syllables(window)) is not None

    def recover(self, text: str, tokens: list[tuple[str, int, int]]) -> str:
        """The text with each mis-heard stretch replaced by the word it sounds like.

        A stretch starts at a character no word claims and may reach into the next word ("崔|报数" for 催报),
        never into a department's name or a longer term; it becomes one of the knowledge base's own terms.
        """
        single = [False] * len(text)
        in_term = [False] * len(text)  # a stretch never cuts into one of our own terms (区|卫健委 is no 区委)
        for word, begin, end in tokens:
            if end - begin == 1 and "\u4e00" <= word <= "\u9fff" and word not in FUNCTION_CHARS:
                single[begin] = True
            elif word in self._protected:
                in_term[begin:end] = [True] * (end - begin)
        if True not in single:
            return text
        cjk = [("\u4e00" <= ch <= "\u9fff") for ch in text]
        syllables = self.readings.syllables(text)
        found: list[tuple[int, int, str]] = []  # (size, start, word)
        for i, free in enumerate(single):
            if not free:
                continue
            for size in LENGTHS:
                end = i + size
                if end > len(text) or tuple(syllables[i:end]) not in self._words:  # the cheap test first
                    continue
                if not all(cjk[i:end]) or text[end - 1] in FUNCTION_CHARS \
                        or text[i] == text[i + 1] \
                        or all(ch in self._common for ch in text[i:end]) \
                        or any(in_term[i:end]):  # 买买、看看 / 人收: real words side by side
                    continue
                best = self._best(text[i:end], syllables[i:end])
                if best:
                    found.append((size, i, best))
        taken = [False] * len(text)
        chosen: list[tuple[int, str, int]] = []
        for size, i, word in sorted(found, key=lambda f: f[0], reverse=True):  # longest stretches first
            if not any(taken[i:i + size]):
                taken[i:i + size] = [True] * size
                chosen.append((i, word, size))
        out, last = [], 0
        for i, word, size in sorted(chosen):
            out.append(text[last:i] + word)
            last = i + size
        out.append(text[last:])
        return "".join(out)


# Particles and function words: a sound-alike neither starts nor ends on one ("不赡" is no 不善).
FUNCTION_CHARS = frozenset("的了吗呢吧啊呀嘛和与及或把被让叫要给对在是都也还就又再这那个一我你他她它说想去来做搞弄帮不没有能会找请")


def _all_cjk(word: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in word)
