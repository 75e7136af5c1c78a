"""Make a resident's comment (or a cadre's check text) safe to show in the digest: strip what identifies a person,
then shorten it. Every output of the digest (the bot's messages, text, Markdown, XLSX, CSV) shows comments only
as `bot.digest.queries.build_digest` stored them, after `anonymize` — the one place this is done.

    anonymize("王大爷说幸福路88号3栋201室漏水，电话13812345678")
    -> '〔姓名〕大爷说幸福路〔地址〕漏水，电话〔电话〕'

Removed (and replaced by a marker saying what was there):
- person names: full names with any surname of the 百家姓 or of today (禚, 令狐), 王书记 / 王大爷 (the title
  stays), 老王 / 小李 / 阿芳, 王 建 国, names in brackets, after a role or 叫 (村会计高明, 房东叫田富贵), nicknames
  (刘麻子, 石老三), 我叫…, names in Latin letters (Li Xiaohong, zhao主任, Amy 陈) (bot.digest.names);
- phone numbers: mobile (+86, spaces, dashes), landline with area code ((0512)58761234, 0512-6523 4567), 400/800
  numbers, numbers written in Chinese digits (一三九…);
- ID-card numbers (18 digits with X, with spaces), 身份证后四位 0427; licence plates (苏E·12345, 苏 E 3M8K2);
- WeChat / QQ ids, e-mail addresses, links; house, building and room numbers (东街12号, 5栋1单元102, 7-2-1102,
  就住402, 楼上401的住户, 村东头第三户);
- any other run of 6+ digits that is not an amount (500000元 stays).

Ordinary words that look like names (高明, 马上, 周到, 王府井) and numbers that identify nobody (3号楼, 8组, 2024年,
金额500元, 12345) are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.digest.names import find_names
from texts import digest as T

DEFAULT_LIMIT = 60


class Personal(StrEnum):
    """What a removed piece was; each has its marker."""

    NAME = "name"
    PHONE = "phone"
    ID = "id"
    PLATE = "plate"
    CONTACT = "contact"
    ADDRESS = "address"
    NUMBER = "number"


MARKERS: dict[Personal, str] = {
    Personal.NAME: T.MASK_NAME,
    Personal.PHONE: T.MASK_PHONE,
    Personal.ID: T.MASK_ID,
    Personal.PLATE: T.MASK_PLATE,
    Personal.CONTACT: T.MASK_CONTACT,
    Personal.ADDRESS: T.MASK_ADDRESS,
    Personal.NUMBER: T.MASK_NUMBER,
}


@dataclass(frozen=True)
class Found:
    """One identifying piece of a text: text[start:end]."""

    start: int
    end: int
    kind: Personal


_NUM = r"(?:\d+|[一二三四五六七八九十百零〇两]+)"
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# A house number (…12号) is an address after these: a street, a lane, a village, a village group.
_PLACE_BEFORE_NUMBER = "路街巷弄道里村埭庄屯湾桥坊苑园区院寨堡坝坪塘沟岭湖墩浜泾圩港坞岗庙场组住"
# A run of digits followed by these is an amount, a year or a count, not an identifier.
_UNITS = "元块万亿年米平人户个次斤吨台辆份天条岁分秒度克"

# (pattern, group holding the piece (0: all), kind), in this order; overlapping finds are merged afterwards.
_RULES: tuple[tuple[re.Pattern[str], int, Personal], ...] = tuple(
    (re.compile(pattern, flags), group, kind)
    for pattern, group, kind, flags in (
        # links and e-mail addresses
        (r"https?://\S+|www\.\S+", 0, Personal.CONTACT, re.I),
        (r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", 0, Personal.CONTACT, 0),
        # a WeChat / QQ / Douyin id after its name: 微信 lyf_1976, qq是 1029384756, wx: zhanghui_8866
        (r"(?:微信号?|微信名|威信|[vV]信|vx|wx|weixin|qq号?|扣扣|企鹅号?|抖音号?|快手号?)\s*(?:号码|号)?\s*"
         r"(?:是|为|:|：)?\s*([A-Za-z0-9][A-Za-z0-9_.\-]{4,})", 1, Personal.CONTACT, re.I),
        # ID-card numbers: 18 with a check character (spaces allowed), the old 15 digits; 身份证后四位 0427
        (r"(?<![0-9])(?:\d[ -]?){17}[\dXx](?![0-9A-Za-z])", 0, Personal.ID, 0),
        (r"(?<![0-9])\d{15}(?![0-9])", 0, Personal.ID, 0),
        (r"(?<![0-9])\d{6}[\d*]{8,11}[\dXx*](?![0-9A-Za-z])", 0, Personal.ID, 0),  # 320582********4426
        (r"(?:(?:后|末|尾)(?:四|4|六|6)位(?:数|数字|号码?)?|尾号)\s*(?:是|为|:|：)?\s*(\d{3,6}[Xx]?)", 1, Personal.ID, 0),
        # mobile numbers (+86, spaces or dashes anywhere), 138****5678, landlines with an area code, 400/800
        (r"(?<![0-9])(?:\(?\+?86\)?[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?![0-9])", 0, Personal.PHONE, 0),
        (r"(?<![0-9])1[3-9]\d[*xX]{4}\d{4}(?![0-9])", 0, Personal.PHONE, 0),
        (r"(?<![0-9])(?:\(0\d{2,3}\)|0\d{2,3})[ -]?\d{3,4}[ -]?\d{4}(?![0-9])", 0, Personal.PHONE, 0),
        (r"(?<![0-9])[48]00[ -]?\d{3}[ -]?\d{4}(?![0-9])", 0, Personal.PHONE, 0),
        (r"[零〇一二三四五六七八九幺]{7,}", 0, Personal.PHONE, 0),
        # a local number after 电话 / 座机 / 打 …: 座机 5391 2345 (but 打12345, a public hotline, stays)
        (r"(?:电话|座机|手机|分机|打|拨|号码|联系方式)\D{0,3}?(?<![0-9])(\d{3,4}[ -]\d{4}|\d{6,8})(?![0-9])", 1,
         Personal.PHONE, 0),
        # licence plates: 苏E·12345, 苏E12345, 苏 E 3M8K2, 苏E·D12345 (the number part has a digit)
        (rf"[{_PROVINCES}]\s?[A-Za-z]\s?[·•・.\-]?\s?(?=[A-Za-z]*\d)[A-Za-z0-9]{{5,6}}(?![A-Za-z0-9])", 0,
         Personal.PLATE, 0),
        # something like a user name: letters with digits or an underscore (wxid_k3j9x8m2p1, Sunny_Ma88)
        (r"(?<![A-Za-z0-9_])(?=[A-Za-z0-9_\-]*[\d_])[A-Za-z][A-Za-z0-9_\-]{4,}(?![A-Za-z0-9_])", 0, Personal.CONTACT, 0),
        # building, unit and room: 3栋2单元501室, 5栋1单元102, 2号楼3门401, 5号楼102, 11幢603, 8栋302
        (rf"(?:{_NUM}|[A-Za-z])\s*(?:号楼|栋|幢|座|号院)\s*[-—]?\s*(?:{_NUM}\s*(?:单元|门|层|楼)\s*[-—]?\s*)*"
         rf"(?:\d{{1,4}}\s*(?:室|号房|房间|户)?|{_NUM}\s*(?:单元|门))", 0, Personal.ADDRESS, 0),
        (r"(?<![0-9])\d{2,4}\s*(?:室|号房|房间|房(?![子东租价屋产贷]))", 0, Personal.ADDRESS, 0),
        (r"(?:门牌号?|房号|门牌号码)\s*(?:是|为|:|：)?\s*(\d[\d-]*)", 1, Personal.ADDRESS, 0),
        # a room number said as a bare number where one lives: 就住402, 楼上401, 402的住户 (住了300天 stays)
        (rf"(?:住|住在|楼上|楼下|对门|对面|隔壁)\s?(\d{{3,4}})(?![0-9]|\s?[{_UNITS}])", 1, Personal.ADDRESS, 0),
        (r"(?<![0-9])(\d{3,4})(?=\s?的?\s?(?:住户|业主|租户|租客|户主|房东|人家|那户|那家|邻居))", 1, Personal.ADDRESS,
         0),
        # a household counted along a village or a row: 村东头第三户, 西边第二家, 第3排第5户
        (rf"(?:[东西南北前后][头边面]|村口|第{_NUM}排)\s?第{_NUM}(?:户|家|间)", 0, Personal.ADDRESS, 0),
        # a house number after a street, lane or village (group): 东街12号, 团结村5组23号, 和平路56号2楼
        (rf"(?<=[{_PLACE_BEFORE_NUMBER}])\s?(?:{_NUM}\s*(?:组|弄|巷|队)\s*)?{_NUM}\s*号(?!楼|院|线|码|文|称|召|车)"
         rf"(?:\s*{_NUM}\s*(?:楼|层|室|单元|栋|幢))*(?:\s*\d{{2,4}}室?)?", 0, Personal.ADDRESS, 0),
        # 7-2-1102, 10-3-205, 3-501 (after phones and dates have been matched as such)
        (r"(?<![0-9-])\d{1,3}-\d{1,3}-\d{1,4}(?![0-9-])|(?<![0-9-])\d{1,3}-\d{3,4}(?![0-9-])", 0, Personal.ADDRESS, 0),
        # any other long run of digits (a QQ number without its name, an account) that is not an amount
        (rf"(?<![0-9])\d{{6,}}(?![0-9]|\s?[{_UNITS}])", 0, Personal.NUMBER, 0),
    )
)
_SPACES = re.compile(r"\s+")
# Full-width digits, letters, "+", "-", "(", ")", "@", ":" and the ideographic space -> ASCII, one character for
# one, so that positions found in the normalised text are positions in the original.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B),
                                          0xFF0B, 0xFF0D, 0xFF08, 0xFF09, 0xFF20)}
_FULLWIDTH[0x3000] = 0x20


def _normalise(text: str) -> str:
    """Same length as `text`: full-width forms as ASCII, control characters as spaces."""
    value = text.translate(_FULLWIDTH)
    return "".join(ch if ch.isprintable() else " " for ch in value)


def find_personal(text: str) -> list[Found]:
    """The identifying pieces of `text`, in order, merged where they touch or overlap (a merged piece takes the
    kind of its longest part)."""
    norm = _normalise(text or "")
    found: list[Found] = []
    for pattern, group, kind in _RULES:
        for match in pattern.finditer(norm):
            start, end = match.span(group)
            if end > start:
                found.append(Found(start, end, kind))
    found += [Found(start, end, Personal.NAME) for start, end in find_names(norm)]
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    merged: list[tuple[int, int, Found]] = []  # (start, end, longest part)
    for piece in found:
        if merged and piece.start < merged[-1][1]:
            start, end, longest = merged[-1]
            if piece.end - piece.start > longest.end - longest.start:
                longest = piece
            merged[-1] = (start, max(end, piece.end), longest)
        else:
            merged.append((piece.start, piece.end, piece))
    return [Found(start, end, longest.kind) for start, end, longest in merged]


def scrub(text: str | None) -> str:
    """`text` with every identifying piece replaced by its marker; whitespace collapsed. No shortening."""
    original = text or ""
    value = "".join(ch if ch.isprintable() else " " for ch in original)  # what stays is shown as written
    out: list[str] = []
    position = 0
    for piece in find_personal(original):
        out.append(value[position:piece.start])
        out.append(MARKERS[piece.kind])
        position = piece.end
    out.append(value[position:])
    return _SPACES.sub(" ", "".join(out)).strip()


def shorten(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """At most `limit` characters, ending in … when cut (never in the middle of a 〔marker〕)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(T.ELLIPSIS)]
    open_marker = cut.rfind("〔")
    if open_marker > cut.rfind("〕"):
        cut = cut[:open_marker]
    return cut.rstrip(" ，,。.；;、") + T.ELLIPSIS


def anonymize(text: str | None, limit: int = DEFAULT_LIMIT) -> str:
    """`scrub` then `shorten`; '' when nothing is left."""
    return shorten(scrub(text), limit)


def is_informative(text: str) -> bool:
    """False for what is only markers, punctuation and spaces after scrubbing."""
    stripped = text
    for marker in MARKERS.values():
        stripped = stripped.replace(marker, "")
    return any(ch.isalpha() for ch in stripped)


__all__ = ["DEFAULT_LIMIT", "MARKERS", "Found", "Personal", "anonymize", "find_personal", "is_informative", "scrub",
           "shorten"]
