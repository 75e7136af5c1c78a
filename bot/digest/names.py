"""Where a resident's comment names a person, so that bot.digest.anonymize can mask it.

    find_names("村支书王建国只顾着自家亲戚，老王头也不管")   # [(3, 6), (14, 16)]: 王建国, 老王 (… 头)

Residents write 王建国, 村支书王建国, 王书记, 王大爷, 老王, 小王, 阿芳, 王 建 国 (spaced), 宋大姐（宋玉珍）,
我叫王建国, 房东叫田富贵, 刘麻子, Wang Jianguo, zhao主任, Amy 陈, wjg. No single signal is reliable: jieba.posseg's
`nr` tag also marks 谢谢, 阳光 and 高明, and misses many real names; a surname character starts 马上, 白天 and
周到. So a span is a name when a signal and a check agree:

- context that introduces a person: a title or kinship word after a surname (王书记, 张阿姨), a role or kinship
  word before a name (村支书王建国, 我老伴聂长林, 楼道长老沈), 我叫 / 姓名： / 房东叫, a name in brackets after a
  reference, a nickname made of a surname (刘麻子, 石老三) or after 外号;
- jieba's `nr` tokens (adjacent ones merged: 陈 + 红梅) that start with a surname and whose given name is made of
  given-name characters;
- a surname and two given-name characters that are not an ordinary word (马金花, 隗德明), or a compound surname
  and a given name (令狐军, 东方明月);

and in every case the checks against ordinary words: jieba's dictionary frequency (高明, 白天, 方便 are frequent
words, 王建国 is not), words that a surname character merely starts (老师, 小时, 小康), place names (王家埭, 刘家湾).
Spans cover the name only, never the title beside it (王书记 -> 王), so the reader still sees who is meant.

The lexicon — the surnames of the 百家姓 and today's, given-name characters, titles, roles, introductions — is data,
in names.yaml next to this module.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from knowledge.tokenizer import trimmed_jieba_dictionary

Span = tuple[int, int]

_LEXICON_FILE = Path(__file__).with_name("names.yaml")
_DATA: dict[str, Any] = yaml.safe_load(_LEXICON_FILE.read_text(encoding="utf-8"))


def _characters(value: str) -> frozenset[str]:
    """The characters of a YAML string of characters (folded lines leave spaces between them)."""
    return frozenset("".join(value.split()))


def _longest_first(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(words), key=len, reverse=True))


# Single-character surnames: the 百家姓 and today's (禚, 亓, 覃 …).
SURNAMES = _characters(_DATA["surnames"]["baijiaxing"]) | _characters(_DATA["surnames"]["modern"])
COMPOUND_SURNAMES = frozenset(_DATA["surnames"]["compound"])
# Compound surnames that are far more often words (东方 "the east", 南门 "the south gate").
AMBIGUOUS_COMPOUNDS = frozenset(_DATA["surnames"]["ambiguous_compounds"])
# Surnames that are mostly a word of their own (水, 国, 红, 卫健委, 文明, 平时 …): a name only with a title or an
# introduction (卫主任, 我叫花小芸).
WORD_LIKE_SURNAMES = _characters(_DATA["surnames"]["word_like"])
# Surnames that are mostly function words (和, 于, 向, 都, 那 …): a title after them is evidence of a name only at
# the start of a clause or after 的 / 找 / 问 ….
FUNCTION_CHARS = _characters(_DATA["surnames"]["function"])
# Surnames that before a title are all but always a word (伊 "he", 和 "and", 那 "that"): a name only after an
# introduction.
NEVER_TITLED_SURNAMES = _characters(_DATA["surnames"]["never_titled"])
GIVEN_CHARS = _characters(_DATA["given_chars"])
# Titles and kinship words that follow a surname (王书记, 张阿姨), longest first.
TITLES = _longest_first(_DATA["titles"])
# Words after which a person's name follows directly (村支书王建国, 我老伴聂长林, 邻居叫柏小芸).
ROLES = _longest_first(_DATA["roles"])
# What introduces someone's own name: the name may hold any characters (吴建设) and may be a word (甘露).
INTRODUCTIONS = _longest_first(_DATA["introductions"])
# … and what introduces one more weakly: 叫柯慧, 我是刘玉芬 (but 叫马上, 我是党员).
WEAK_INTRODUCTIONS = _longest_first(_DATA["weak_introductions"])
# 叫 after a role, a kinship word or a counter (房东叫田富贵, 有个叫任小军的).
CALLED = _longest_first(_DATA["called"])
NICKNAME_SUFFIXES = _longest_first(_DATA["nickname_suffixes"])
NICKNAME_CUES = _longest_first(_DATA["nickname_cues"])
FAMILIAR_WORDS = frozenset(_DATA["familiar_words"])
PINYIN_SURNAMES = frozenset(_DATA["pinyin_surnames"].split())

# Never part of a name when they follow one (王建国说, 黄伟是).
STOP_CHARS = frozenset(
    "的了是在吧呢啊吗呀哦嘛和跟与说讲问打住家也都就还又很太不没有要会能去来给把被让从向对今明昨现这那啥什怎哪"
    "谁等及或而但村镇区组号楼栋室电手微身年月日岁先女同个们人就只才再已经被着过得地之其此该每各"
)
# A name does not come right before these: 王家埭, 刘家湾, 张家港 are places.
PLACE_SUFFIXES = frozenset("埭村庄湾港路街巷桥镇里苑园区楼组店厂屯寨坝坪塘沟岭湖浜泾圩坞岗庙场井山河州县市省乡")
# What may follow a subject: a name after a role ends here (村会计高明把…, 会计高明说), an adjective does not
# (书记高兴地说, 书记高兴坏了).
_CLAUSE_NEXT = frozenset("把被说讲是在也都就还又不没跟和给对让从很太真这那他她它，,。.！!？?；;：:、）)")
# Before a name whose first two characters are a word (的周到芳, 叫李子豪): 的 and what introduces a person.
_NAME_OPENERS = ("的", "是", "叫")
# Given-name characters that start a given name but do not end one (子豪, 子涵; 王子, 孙子, 丁子户 are words).
_NEVER_LAST_GIVEN = frozenset("子")
# 某 before these is "some …" (某日, 某村), not a pseudonym (张某).
_SOME_WHAT = frozenset("日天年月时处地些种个位方项条次件村镇区市县省单")

_NICKNAME = re.compile(r"[二三四五六](?:狗|毛|虎|柱|丫|妞|妮|蛋|娃|牛|黑|胖|秃)(?:子|蛋|娃|儿)?(?![钱元块分角毛])")
_NICKNAME_CUE = "|".join(re.escape(cue) for cue in NICKNAME_CUES)
_QUOTED_NICKNAME = re.compile(
    rf"(?:{_NICKNAME_CUE})\s?(?:是|为|叫|:|：)?\s?[“\"「『']([^”\"」』'\s]{{1,12}})[”\"」』']"
)
# 外号叫胖虎的, 小名是二丫 (no quotes): up to four characters, to 的 or the end of the clause.
_BARE_NICKNAME = re.compile(r"(?:外号|绰号|小名|诨名|花名)(?:是|为|叫)([\u4e00-\u9fff]{1,4}?)(?=的|[\s，,。.！!？?]|$)")
_DOUBLED = re.compile(r"([\u4e00-\u9fff])\1(?=姐|哥|妹|弟|姨|嫂|阿姨|老师|奶奶|爷爷)")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Single characters with spaces between (王 建 国), not glued to a number or a word before (1路 和 K2路).
_SPACED = re.compile(r"(?<![\u4e00-\u9fffA-Za-z0-9])[\u4e00-\u9fff](?: [\u4e00-\u9fff]){1,3}(?![\u4e00-\u9fff])")
_BRACKETED = re.compile(r"[（(]\s*([\u4e00-\u9fff]{2,4})\s*[）)]")
_SEPARATORS = "、,，和与及跟"
_LISTED = re.compile(rf"(?:[{_SEPARATORS}]\s?| )([\u4e00-\u9fff])")
_PINYIN_SYLLABLE = re.compile(
    r"(?:[bpmfdtnlgkhjqxrzcsyw]|zh|ch|sh)?"
    r"(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|uen|van|ai|ei|ao|ou|an|en|in|un|vn|ia|ie|iu|ua|uo|ui|ue|ve|er|"
    r"a|o|e|i|u|v)"
)

# ---------------------------------------------------------------------------------------------- the dictionary


class _Lexicon:
    """jieba's dictionary (word frequencies) and part-of-speech tagger, loaded on first use: our own instance, so
    that nothing the knowledge base adds to jieba changes what counts as a name here, over the dictionary without
    its rarest words (written once into a cache directory; the full one if that cannot be written)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tagger = None

    def _load(self) -> Any:  # jieba.posseg.POSTokenizer
        with self._lock:
            if self._tagger is None:
                import jieba
                import jieba.posseg

                jieba.setLogLevel(logging.WARNING)
                cache_dir = Path(tempfile.gettempdir()) / "cadrebot-cache"
                cache_dir.mkdir(parents=True, exist_ok=True)
                dictionary = trimmed_jieba_dictionary(cache_dir)  # the same file the knowledge base loads
                tokenizer = jieba.Tokenizer(str(dictionary)) if dictionary else jieba.Tokenizer()
                if dictionary:
                    tokenizer.tmp_dir = str(cache_dir)
                tokenizer.initialize()
                self._tagger = jieba.posseg.POSTokenizer(tokenizer)
            return self._tagger

    def freq(self, word: str) -> int:
        return self._load().tokenizer.FREQ.get(word, 0) or 0

    def tag(self, word: str) -> str | None:
        return self._load().word_tag_tab.get(word)

    @lru_cache(maxsize=16)  # noqa: B019 - one lexicon for the process; several rules look at the same text
    def tokens(self, text: str) -> tuple[tuple[int, int, str], ...]:
        """(start, end, flag) of jieba.posseg's cut."""
        out: list[tuple[int, int, str]] = []
        position = 0
        for pair in self._load().cut(text):
            out.append((position, position + len(pair.word), pair.flag))
            position += len(pair.word)
        return tuple(out)


LEXICON = _Lexicon()
COMMON = 300  # a dictionary word this frequent is an ordinary word, not a name (白天 1456, 方可 430, 王建国 12)
VERY_COMMON = 1000  # … even right after a role word (高兴, 马上 — but 方可 in 村官方可欣 is a name)


def _is_word(word: str, at_least: int = COMMON) -> bool:
    return LEXICON.freq(word) >= at_least


# ---------------------------------------------------------------------------------------------- pieces

# A given-name character this rare as a word of its own (芳 858, 豪 1182, 涛 480) ends a name even after an
# ordinary word (周到芳, 李子豪); 大, 天, 新, 明 (over 10 000) do not.
NAME_ONLY_CHAR = 3000


def _surname_at(text: str, i: int, *, titled: bool = False, introduced: bool = False) -> int:
    """Length of the surname starting at i (2 for 欧阳, 1 for 王), 0 if none. The ambiguous compounds (东方) need a
    title or an introduction, and so do the word-like surnames (卫, 文, 国 …)."""
    if text[i:i + 2] in COMPOUND_SURNAMES:
        return 2 if titled or introduced or text[i:i + 2] not in AMBIGUOUS_COMPOUNDS else 0
    if i < len(text) and text[i] in SURNAMES:
        if text[i] in NEVER_TITLED_SURNAMES:
            return 1 if introduced else 0
        return 1 if titled or introduced or text[i] not in WORD_LIKE_SURNAMES else 0
    return 0


def _starts_title(text: str, start: int) -> bool:
    """A title of two characters or more starts at `start` (王师傅: the name ends before 师傅)."""
    return _LONG_TITLE.match(text, start) is not None


def _given_length(text: str, start: int, *, loose: bool) -> int:
    """How many of the 1-2 characters at `start` form a given name: given-name characters (or, when `loose`,
    after 我叫 / 姓名, any characters that cannot follow a name, up to a title); 0 if not even one."""
    n = 0
    while n < 2 and start + n < len(text):
        ch = text[start + n]
        if not _CJK.match(ch) or (ch in STOP_CHARS and not _name_char_here(text, start + n)) or ch in PLACE_SUFFIXES:
            break
        if not loose and ch not in GIVEN_CHARS:
            break
        if _starts_title(text, start + n):
            break  # 黄大夫, 李大爷: the title is no part of the name
        n += 1
    if n and start + n < len(text) and text[start + n] in PLACE_SUFFIXES and text[start + n - 1] in "家":
        return 0  # 王家埭, 刘家湾: a place
    if not loose and n and text[start + n - 1] in _NEVER_LAST_GIVEN:
        n -= 1  # 丁子户: not 丁 + 子
    return n


# Characters that are both given-name characters and the start of words that follow a name (明天, 月底, 栋梁):
# in a name where they start no word with the next character (高明把…, 王明月说).
_GIVEN_STOPS = (STOP_CHARS & GIVEN_CHARS) - {"家"}


def _name_char_here(text: str, i: int) -> bool:
    """text[i], a stop character, is a given-name character here: one of _GIVEN_STOPS starting no word."""
    return text[i] in _GIVEN_STOPS and not _is_word(text[i:i + 2], 100)


def _ends_clause(text: str, end: int) -> bool:
    """What follows text[:end] can follow a subject: the end, a space, a punctuation mark, 把 / 说 / 是 …"""
    return end >= len(text) or text[end].isspace() or text[end] in _CLAUSE_NEXT


def _named_word(text: str, start: int, end: int) -> bool:
    """text[start:end] is a dictionary word that jieba knows mostly as a person's name (高明, nr) and not a very
    frequent one, standing as a subject (村会计高明把…; not 书记高兴地说)."""
    word = text[start:end]
    return (LEXICON.tag(word) or "")[:2] == "nr" and not _is_word(word, VERY_COMMON) and _ends_clause(text, end)


def _full_name_at(text: str, i: int, *, loose: bool = False, common: int = COMMON, introduced: bool = False,
                  named_words: bool = False) -> int:
    """Length of a surname + given name starting at i (0 if none): 王建国, 欧阳文华, 孙丽 — not an ordinary word
    (白天, 高兴: `common` is the frequency that makes one; 0 takes any) and not the start of a place (王家埭).
    `named_words`: a two-character word jieba knows as a name is one here (村会计高明把…)."""
    surname = _surname_at(text, i, introduced=introduced)
    if not surname:
        return 0
    given = _given_length(text, i + surname, loose=loose)
    if not given:
        return 0
    end = i + surname + given
    first_two = text[i:i + surname + 1]
    if common and first_two not in COMPOUND_SURNAMES and _is_word(first_two, 100 if given == 1 else common):
        if not (named_words and given == 1 and _named_word(text, i, end)):
            return 0  # 老人关爱巡访, 书记高兴地说: words; 村官方可欣: a name despite 方可
    if end < len(text) and text[end] in PLACE_SUFFIXES and given == 1:
        return 0
    if common and given == 2 and _splits_a_word(text, i, end):
        return 0  # 通知应征青年: jieba reads 应征 and 青年 as words
    return end - i


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(word) for word in _longest_first(words))


_ROLE_AT_END = re.compile(f"(?:{_alternation(ROLES)})\\Z")
_LONG_TITLE = re.compile(_alternation(t for t in TITLES if len(t) > 1))
_LONG_TITLE_AT_END = re.compile(f"(?:{_LONG_TITLE.pattern})\\Z")
_LONGEST_CUE = max(len(word) for word in (*ROLES, *TITLES))


def _ends_with_role(text: str, end: int) -> bool:
    """text[:end] ends with a role or kinship word (村民组长, 楼道长, 房东, 我老婆)."""
    return _ROLE_AT_END.search(text, max(0, end - _LONGEST_CUE), end) is not None


# ---------------------------------------------------------------------------------------------- the rules


def _titled(text: str) -> Iterator[Span]:
    """A surname (or a full name) right before a title or kinship word: 王书记, 张阿姨, 欧阳书记, 陈红梅书记,
    甘露主任, 王副镇长 (the title is not part of the span). Of the readings, the longest title wins (王大爷 is
    王 + 大爷, not 王大 + 爷), and of two as long the shorter name (黄大夫人: 黄 + 大夫, not 黄大 + 夫人)."""
    for i in range(len(text)):
        surname = _surname_at(text, i, titled=True)
        if not surname:
            continue
        if surname == 1 and i and _CJK.match(text[i - 1]):
            if text[i] in FUNCTION_CHARS and text[i - 1] not in "的找问叫请是跟给让被":
                continue  # 我和书记说了, 要向书记汇报; but 于主任 at the start, 找向主任, 的于主任 are names
            if text[i - 1] not in "老小阿" and _is_word(text[i - 1:i + 1], 100):
                continue  # 普查指导员, 兼任指导员, 本周工单: the surname's character ends a word
            if text[i] in WORD_LIKE_SURNAMES and (_is_word(text[i - 1:i + 1], 50) or _is_word(text[i - 2:i + 1], 20)):
                continue  # 会计师傅, 农家乐老板: 计, 乐 end a word
        readings = [reading for given in (0, 1, 2) if (reading := _title_reading(text, i, surname, given))]
        if readings:
            end, title = max(readings, key=lambda r: (len(r[1]), -r[0]))  # 黄大夫人很好: 黄 + 大夫
            yield i, end + 1 if title.startswith("家") else end  # 吕家阿婆: 吕家


def _title_reading(text: str, i: int, surname: int, given: int) -> tuple[int, str] | None:
    """(end of the name, title) if text[i:] reads as a name of `given` given characters and a title (副 may
    stand before the title: 王副书记)."""
    start = i + surname + given
    deputy = "副" if text.startswith("副", start) else ""
    title = next((t for t in TITLES if text.startswith(t, start + len(deputy))), None)
    if title is None:
        return None
    name, given_chars = text[i:start], text[i + surname:start]
    if given and not all(ch in GIVEN_CHARS and (ch not in STOP_CHARS or ch in _GIVEN_STOPS) for ch in given_chars):
        return None  # 党委书记: not 党 + 委
    if given and given_chars[-1] in _NEVER_LAST_GIVEN:
        return None
    if given and text[i] in WORD_LIKE_SURNAMES and _is_word(name, 20):
        return None  # 计生专干: a word, not 计 + 生
    if given and (_is_word(name, VERY_COMMON) or given_chars == "家" * given):
        return None  # 白天主任不在
    if not given and not deputy and _is_word(name + title, 10 if len(title) == 1 else 50):
        return None  # 师姐, 师兄, 施工, 包工头: words, not 师 + 姐
    if len(title) == 1 and not deputy and _is_word(text[start:start + 2], 10):
        return None  # 钱工资, 王总结, 关工委: the title's character starts a word
    return start, deputy + title


_CUE_PATTERNS: dict[tuple[str, ...], re.Pattern[str]] = {
    words: re.compile(f"(?=({_alternation(words)}))") for words in (INTRODUCTIONS, WEAK_INTRODUCTIONS, ROLES)
}
_CUE_SEPARATOR = re.compile(r"\s?[:：]?\s?")
_INITIALS_AFTER_ROLE = re.compile(f"(?:{_alternation(ROLES)})\\s?([A-Za-z]{{2,4}})(?![A-Za-z0-9_])")


def _cues_in(text: str, words: tuple[str, ...]) -> Iterator[tuple[str, int, int]]:
    """(cue, its start, where what it introduces starts) for each place one of `words` starts (the longest there),
    after one space or colon."""
    for match in _CUE_PATTERNS[words].finditer(text):
        word, at = match.group(1), match.start()
        yield word, at, _CUE_SEPARATOR.match(text, at + len(word)).end()  # type: ignore[union-attr]


_CALLED = re.compile("(" + "|".join(re.escape(word) for word in (*CALLED, "是")) + r")\s?[:：]?\s?")


def _after_roles(text: str) -> Iterator[Span]:
    """A name right after a role, a kinship word or an introduction: 村支书王建国, 楼长孙丽, 我老伴聂长林,
    村会计高明把…, 治保主任冉光明说, 我叫陈秀英, 姓名：范志刚, 签名：樊, 房东叫田富贵, 有个叫任小军的, 小孩叫豆豆,
    社区主任是朱莉 (one space or a colon may stand between)."""
    cues: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
        (INTRODUCTIONS, {"loose": True, "common": 0, "introduced": True}),
        (WEAK_INTRODUCTIONS, {"common": COMMON}),
        (ROLES, {"common": VERY_COMMON, "named_words": True}),
    )
    for words, options in cues:
        for word, at, start in _cues_in(text, words):
            if start >= len(text):
                continue
            if word == "叫" and at and text[at - 1] in "喊大尖吵乱鸣":
                continue  # 喊叫, 大叫: not 叫 + a name
            length = _full_name_at(text, start, **options)
            if not length and words is INTRODUCTIONS:
                surname = _surname_at(text, start, introduced=True)
                length = surname if surname and _ends_clause(text, start + surname) else 0  # 签名：樊
            if not length and words is ROLES:
                length = _paused_name_at(text, start)
            if length:
                yield start, start + length
    for match in _CALLED.finditer(text):
        before = match.start()
        if not (_ends_with_role(text, before) or (before and text[before - 1] in "个位名")):
            continue  # 叫 / 是 after anything else is the weak introduction above
        start = match.end()
        called = match.group(1) != "是"  # 房东叫田富贵: any characters; 主任是朱莉: given-name characters
        length = _full_name_at(text, start, loose=called, common=VERY_COMMON, named_words=True)
        if not length and called and _DOUBLED_NAME.match(text, start) and not _is_word(text[start:start + 2], 100):
            length = 2  # 小孩叫豆豆 (but 叫天天)
        if length:
            yield start, start + length


_NUMERALS = frozenset("一二三四五六七八九十百千万两几半")
_DOUBLED_NAME = re.compile(r"([\u4e00-\u9fff])\1(?![\u4e00-\u9fff])|([\u4e00-\u9fff])\2(?=[的说是在也都就还又])")


def _paused_name_at(text: str, start: int) -> int:
    """3 if a surname and two characters that are not the usual given-name ones stand right after a role and
    before a pause (治保主任冉光明说), 0 otherwise — not a word (书记马上说, 书记白跑一趟, 书记万里…)."""
    if not _surname_at(text, start) or start + 3 > len(text) or not _ends_clause(text, start + 3):
        return 0
    given = text[start + 1:start + 3]
    if not all(_CJK.match(ch) and ch not in STOP_CHARS | PLACE_SUFFIXES | _NUMERALS for ch in given):
        return 0
    if _is_word(text[start:start + 2], 100) or _is_word(given, 100) or LEXICON.freq(text[start:start + 3]):
        return 0
    return 3


def _familiar(text: str) -> Iterator[Span]:
    """老王, 小李, 老王头, 阿芳: a familiar name, unless the characters are an ordinary word (老师, 小时, 小孙子).
    Right after a role (村民组长老胡, 楼道长老沈) it is one even where 长老 would be a word."""
    for match in re.finditer(r"[老小]([\u4e00-\u9fff])", text):
        i, ch = match.start(), match.group(1)
        if ch not in SURNAMES or ch in FUNCTION_CHARS or ch in WORD_LIKE_SURNAMES or match.group(0) in FAMILIAR_WORDS:
            continue
        if i and not _ends_with_role(text, i) and (
                text[i - 1] in "养養尊敬扶" or _is_word(text[i - 1:i + 1], 100) or _is_word(text[i - 1:i + 2], 20)):
            continue  # 养老金, 尊老金, 从小: 老/小 ends a word
        after = text[i + 1:i + 3]
        if len(after) == 2 and _is_word(after, 100) and not after.endswith("家"):
            continue  # 小孙子, 老党员, 小白菜, 小钟表店: ch starts a word
        if _is_word(match.group(0) + text[i + 2:i + 3], 20) and len(text) > i + 2:
            continue  # 老百姓-like words of three characters
        end = i + 2
        if text[i] == "老" and text[end:end + 1] == "头":
            end += 1
        yield i, end
    for match in re.finditer(r"小([\u4e00-\u9fff])", text):  # 保洁阿姨小芳, 网格员小雨: a given name after a role
        i, ch = match.start(), match.group(1)
        if ch in SURNAMES or ch not in GIVEN_CHARS or ch in STOP_CHARS or _is_word(match.group(0), 50):
            continue  # 小李 (above), 小心, 小学
        if _ends_with_role(text, i) or _LONG_TITLE_AT_END.search(text, max(0, i - _LONGEST_CUE), i):
            if not (i + 2 < len(text) and _is_word(text[i + 1:i + 3], 100)):  # 阿姨小花园: 花园
                yield i, i + 2
    for match in re.finditer(r"阿([\u4e00-\u9fff])", text):
        word, (start, end) = match.group(0), match.span()
        if match.group(1) not in GIVEN_CHARS or word in ("阿姨", "阿婆", "阿公", "阿伯", "阿叔"):
            continue
        if start and text[start - 1] in SURNAMES and text[start - 1] not in FUNCTION_CHARS:
            yield start - 1, end  # 沈阿根: a full name
        elif not _is_word(word, 50):  # 阿里, 阿苏: words
            yield start, end


def _spaced(text: str) -> Iterator[Span]:
    """王 建 国, 小 吴, 邵 大 爷: single characters with spaces between, starting with a surname (or 小/老 + one)."""
    for match in _SPACED.finditer(text):
        chars = match.group(0).replace(" ", "")
        if _surname_at(chars, 0) or (chars[0] in "老小" and chars[1] in SURNAMES):
            yield match.span()


def _bracketed(text: str) -> Iterator[Span]:
    """宋大姐（宋玉珍）, 毛子（毛建伟）: a name in brackets, and the nickname before it with the same surname;
    胡主人(主任): a misspelt title corrected in brackets, after the surname it belongs to."""
    for match in _BRACKETED.finditer(text):
        inner, before = match.group(1), match.start()
        if inner in TITLES:
            written, start = text[before - len(inner):before], before - len(inner) - 1
            if (start >= 0 and written != inner and any(a == b for a, b in zip(written, inner, strict=True))
                    and _surname_at(text, start, titled=True) == 1):
                yield start, start + 1
            continue
        if _full_name_at(inner, 0) != len(inner):
            continue  # （王府井）
        yield match.span(1)
        for back in (3, 2):
            start = before - back
            if start >= 0 and text[start] == inner[0]:
                # 宋大姐（…）: the title stays; 毛子（…）: the nickname goes
                yield start, start + 1 if text[start + 1:before] in TITLES else before
                break


def _tagged(text: str) -> Iterator[Span]:
    """jieba's `nr` tokens, adjacent ones merged (陈 + 红梅, 司 + 马俊峰), that are a surname and a given name of
    given-name characters and not a frequent dictionary word (高明, 张罗, 阳光)."""
    tokens = LEXICON.tokens(text)
    i = 0
    while i < len(tokens):
        start, end, flag = tokens[i]
        if not flag.startswith("nr"):
            i += 1
            continue
        j = i
        while j + 1 < len(tokens) and tokens[j + 1][2].startswith("nr") and tokens[j + 1][1] - start <= 4:
            j += 1
            end = tokens[j][1]
        merged, i = j > i, j + 1
        word = text[start:end]
        surname = _surname_at(word, 0)
        if not surname or not 2 <= len(word) <= 4 or len(word) == surname:
            continue
        if len(word) == 3 and word.endswith("家") and surname == 1:
            word, end = word[:2], end - 1  # 郑爽家: the name is 郑爽
        title_at = next((k for k in range(start + surname, end) if _starts_title(text, k)), None)
        if title_at is not None:
            word, end = text[start:title_at], title_at  # 黄大夫人: 黄 + 大夫, not 黄大 + 夫人
        if len(word) == surname:
            continue
        given = word[surname:]
        unknown = LEXICON.freq(word) == 0  # not in the dictionary: jieba's HMM took it for a name
        strange = [ch for ch in given if ch not in GIVEN_CHARS]
        if given[-1] in _NEVER_LAST_GIVEN:
            continue  # 孙子, 丁子: words
        if strange and not (unknown and not merged and len(given) == 2 and len(strange) == 1
                            and strange[0] not in STOP_CHARS | PLACE_SUFFIXES):
            continue  # given-name characters, or one other in a name jieba's HMM found on its own (武二勇)
        if not merged and (_is_word(word, 100) or _is_word(word[:surname + 1])):
            continue  # one dictionary word, and a frequent one (高明, 张罗, 阳光), or one starting with one (金银花)
        if (LEXICON.tag(word) or "nr")[:2] != "nr" and _is_word(word, 20):
            continue  # 甘露 (v), 方可 (n): ordinary words (a title or a role finds them when they are names)
        if end < len(text) and text[end] in PLACE_SUFFIXES:
            continue
        yield start, end


def _three_characters(text: str) -> Iterator[Span]:
    """A surname and two given-name characters that no rule above needed: 马金花, 常福生, 隗德明 — unless the
    first two are a frequent word (黄金海岸, 白天亮了) or the surname ends a word (西安华山). After 的 / 叫 / a
    role, the first two may be a word when the third is a character of names only (的周到芳, 的李子豪). Where jieba
    runs a word across the end (房东信息, 宗治中心) it is no name."""
    for i in range(len(text) - 2):
        surname = _surname_at(text, i)
        if not surname:
            continue
        given = text[i + surname:i + surname + 2]
        end = i + surname + 2
        if len(given) < 2 or not all(ch in GIVEN_CHARS for ch in given) or given[1] in _NEVER_LAST_GIVEN:
            if surname == 1 and _word_headed_name(text, i):
                yield i, i + 3
            continue
        if given[0] == given[1] and _is_word(given):
            continue  # 老陈天天来: 天天 is "every day"
        if _is_word(text[i:i + surname + 1]) and not (surname == 1 and _word_headed_name(text, i)):
            continue
        if _is_word(text[i:end], 20):
            continue
        if i and (_is_word(text[i - 1:i + 1], 20) or _is_word(text[i - 2:i + 1], 50)):
            continue  # 违章彩钢, 城管发文, 公积金中心: the surname's character ends a word
        if end < len(text) and text[end] in PLACE_SUFFIXES:
            continue
        if _splits_a_word(text, i, end):
            continue
        yield i, end


def _splits_a_word(text: str, start: int, end: int) -> bool:
    """jieba's cut of `text` runs a frequent word across the end of text[start:end] (房东|信息, 应征|青年,
    宗治|中心: a name there would split it; but 李建国|家 is 李建国's family, whatever jieba cuts), or reads the two
    characters after a surname that is also a function word as a time word (于|明天)."""
    for token_start, token_end, flag in LEXICON.tokens(text):
        if token_start < end < token_end and text[end] != "家" and _is_word(text[token_start:token_end], 100):
            return True
        if token_start == start + 1 and token_end == end and flag == "t" and text[start] in FUNCTION_CHARS:
            return True
    return False


def _word_headed_name(text: str, i: int) -> bool:
    """text[i:i+3] is a name although its first two characters are a word (周到, 李子): it comes after 的 / 叫 / a
    role, its last character is rarely a word of its own (芳, 豪; not 大, 天), and no word runs across its ends
    (周到芳, not 黄金海岸 or 服务周到家里)."""
    end = i + 3
    if end > len(text) or not (any(text.endswith(opener, 0, i) for opener in _NAME_OPENERS) or _ends_with_role(text, i)):
        return False
    last = text[end - 1]
    if last not in GIVEN_CHARS or last in STOP_CHARS or _is_word(last, NAME_ONLY_CHAR) or last == "子":
        return False
    if not _is_word(text[i:i + 2]) or _is_word(text[i:i + 2], VERY_COMMON):
        return False  # a word, but not one so frequent that the name is the unlikely reading (宣传, 马上)
    if LEXICON.freq(text[i:end]) or _is_word(text[i + 1:end], 20):
        return False
    return not (end < len(text) and (_is_word(text[end - 1:end + 1], 20) or text[end] in PLACE_SUFFIXES))


def _compound(text: str) -> Iterator[Span]:
    """A compound surname and a given name: 令狐军, 欧阳文华 (one or two given-name characters); the ambiguous
    ones only with two that make no dictionary word (东方明月 — not 东方红小区, 东方明珠)."""
    for i in range(len(text) - 2):
        pair = text[i:i + 2]
        if pair not in COMPOUND_SURNAMES or (i and _is_word(text[i - 1:i + 1], 50)):
            continue  # 马上官宣: 上官 is no surname there
        if pair in AMBIGUOUS_COMPOUNDS:  # 东方明月: two given-name characters, even where they make a word (明月)
            given = 2 if all(ch in GIVEN_CHARS and (ch not in STOP_CHARS or ch in _GIVEN_STOPS)
                             for ch in text[i + 2:i + 4]) and len(text) >= i + 4 else 0
        else:
            given = _given_length(text, i + 2, loose=False)
        end = i + 2 + given
        if not given or _is_word(text[i + 1:i + 3]):
            continue  # 上官方: 官方
        if pair in AMBIGUOUS_COMPOUNDS and (given < 2 or LEXICON.freq(text[i:i + 3]) or LEXICON.freq(text[i:end])
                                            or (end < len(text) and text[end] in PLACE_SUFFIXES)):
            continue
        yield i, end


_TITLE_AHEAD = "(?:" + "|".join(re.escape(title) for title in TITLES) + ")"


def _latin(text: str) -> Iterator[Span]:
    """Names in Latin letters: Wang Jianguo / Yang Xiaoping (a pinyin surname and a pinyin given name), Amy Chen
    and Amy 陈 (a given name and a surname), zhao主任 / Tony老师 (before a title), initials after a role
    (村主任wjg)."""
    for match in re.finditer(r"(?<![A-Za-z])([A-Z][a-z]{1,11}|[A-Z]{2,6})\s([A-Z][a-z]{1,11})(?![A-Za-z])", text):
        first, second = match.group(1).lower(), match.group(2).lower()
        if first in PINYIN_SURNAMES and _is_pinyin(second, 2) or second in PINYIN_SURNAMES:
            yield match.span()  # Wang Jianguo; Amy Chen, Xiaohong Li: the given name first
    for match in re.finditer(r"(?<![A-Za-z])([A-Z][a-z]{1,10})\s?([\u4e00-\u9fff])(?=[\s，,。.！!？?；;、]|$)", text):
        if _surname_at(text, match.start(2), titled=True) == 1:
            yield match.span()  # Amy 陈, then a pause
    for match in re.finditer(rf"(?<![A-Za-z0-9_])([A-Za-z][a-z]{{1,10}}|[A-Z]{{2,6}})\s?(?={_TITLE_AHEAD})", text):
        latin = match.group(1)
        if latin.lower() in PINYIN_SURNAMES or (latin[0].isupper() and latin[1:].islower()):
            yield match.span(1)  # zhao主任, WANG书记, Tony老师
    for match in _INITIALS_AFTER_ROLE.finditer(text):
        yield match.span(1)


@lru_cache(maxsize=1024)
def _is_pinyin(word: str, syllables: int) -> bool:
    """`word` is 1 to `syllables` pinyin syllables."""
    if not word:
        return True
    if syllables == 0:
        return False
    return any(_is_pinyin(word[m.end():], syllables - 1) for m in _prefixes(word))


def _prefixes(word: str) -> Iterator[re.Match[str]]:
    for n in range(len(word), 0, -1):
        match = _PINYIN_SYLLABLE.fullmatch(word[:n])
        if match:
            yield match


def _nicknames(text: str) -> Iterator[Span]:
    """二狗子, 三毛, 苗苗姐 (the 姐 stays); a surname and what the person is known by (刘麻子, 石老三, 张某); a
    nickname after 外号 / 网名 (外号叫胖虎的, 网名“春天的花”)."""
    for match in _NICKNAME.finditer(text):
        yield match.span()
    for match in _DOUBLED.finditer(text):
        if match.group(1) in GIVEN_CHARS:
            yield match.span()
    for pattern in (_QUOTED_NICKNAME, _BARE_NICKNAME):
        for match in pattern.finditer(text):
            yield match.span(1)
    for i in range(len(text) - 1):
        surname = _surname_at(text, i) if text[i] not in FUNCTION_CHARS else 0
        suffix = next((s for s in NICKNAME_SUFFIXES if text.startswith(s, i + surname)), None) if surname else None
        if suffix is None or (i and _is_word(text[i - 1:i + 1], 50)):
            continue  # 结石老三: 石 ends a word; 于某日: 于 is "on"
        end = i + surname + len(suffix)
        if suffix == "某" and end < len(text) and text[end] in _SOME_WHAT:
            continue  # 王某村, 李某日: 某 goes with what follows
        if _is_word(text[i:i + surname + 1], 100) or _is_word(text[i:end], 50):
            continue  # 高大个子: 高大 is "tall"
        yield i, end


def _stated_surname(text: str) -> Iterator[Span]:
    """我姓王, 一个姓张的, 免贵姓欧阳, 房东姓冯: a surname stated on its own (not 老百姓)."""
    for match in re.finditer(r"(?:我|俺|他|她|人|个|位|免贵|叫|的)?姓", text):
        if not match.group(0)[:-1] and not _ends_with_role(text, match.start()):
            continue  # 房东姓冯, but not 百姓
        length = _surname_at(text, match.end(), titled=True) if match.end() < len(text) else 0
        if length and text[match.end()] not in FUNCTION_CHARS:
            yield match.end(), match.end() + length


def _siblings(text: str, names: list[Span]) -> Iterator[Span]:
    """武大勇 武二勇, 张三、张四: a name listed right before or after a name found with the same surname."""
    for start, end in names:
        if end - start < 2 or not _surname_at(text, start):
            continue
        surname = text[start]
        for match in _LISTED.finditer(text, end):  # the names after it
            given = _given_length(text, match.end(), loose=True)
            if match.start() != end or match.group(1) != surname or not given:
                break
            end = match.end() + given
            yield match.start(1), end
        while (before := _listed_before(text, start, surname)) is not None:  # the names before it
            yield before, _separator_start(text, start)
            start = before


def _separator_start(text: str, start: int) -> int:
    """Where the separator before text[start] begins: "、", "和", a space, or "、 "."""
    gap = 2 if start >= 2 and text[start - 1] == " " and text[start - 2] in _SEPARATORS else 1
    return start - gap


def _listed_before(text: str, start: int, surname: str) -> int | None:
    """The start of a name with `surname` of 2-3 characters that ends right before the separator before text[start]."""
    end = _separator_start(text, start)
    if end < 1 or text[end] not in _SEPARATORS + " ":
        return None
    for length in (3, 2):
        begin = end - length
        if begin >= 0 and text[begin] == surname and _given_length(text, begin + 1, loose=True) == length - 1:
            return begin
    return None


RULES = (_titled, _after_roles, _familiar, _spaced, _bracketed, _tagged, _three_characters, _compound, _latin,
         _nicknames, _stated_surname)


def find_names(text: str) -> list[Span]:
    """Spans of person names in `text` (may overlap; the caller merges them)."""
    spans: list[Span] = []
    for rule in RULES:
        spans.extend((start, end) for start, end in rule(text) if end > start)
    spans.extend(list(_siblings(text, spans)))
    return spans


__all__ = ["COMPOUND_SURNAMES", "GIVEN_CHARS", "SURNAMES", "find_names"]
