"""Make a resident's comment (or a cadre's check text) safe to show in the digest: strip what identifies a person,
then shorten it.

    anonymize("王大爷说幸福路88号3栋201室漏水，电话13812345678")
    -> '某大爷说幸福路[门牌]漏水，电话[电话]'

Removed: ID-card numbers, mobile and landline numbers, any other run of 6+ digits, e-mail / WeChat / QQ contacts,
links, house and room numbers (…号, 栋, 单元, 室, 3-501 …), and people named by surname plus a kinship word or
title (王大爷, 张阿姨, 李书记, 刘建国主任), by 老/小 plus a common surname (老王, 小张) or after 我叫/姓名.
It errs on the side of masking: a stray 某 costs less than a name.
"""

from __future__ import annotations

import re

from texts import digest as T

DEFAULT_LIMIT = 60

# Common single-character surnames (百家姓, the frequent ones); characters that are also everyday words in
# these contexts (于, 和, 区, 时 …) are left out on purpose.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖萧田董袁潘蔡蒋余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方邹熊白孟秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫"
    "孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童"
    "凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦"
    "麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩"
    "明佘池查麻苑迟邝"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "司徒", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "令狐")
# With 老/小 in front only the most frequent surnames that do not start an everyday word (小区, 小时, 老师 …).
FAMILIAR_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐马朱郭何林罗梁宋郑谢韩唐冯董萧曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎闫余潘杜戴"
    "夏钟汪田姜姚谭廖邹陆郝孔崔邱秦江史顾侯邵孟段汤尹黎乔贺赖龚武易"
)

_SURNAME = "(?:" + "|".join(COMPOUND_SURNAMES) + f"|[{SURNAMES}])"
# Kinship words and titles that follow a surname directly (王大爷) and titles that may follow a full name (王建国书记).
_KIN = sorted(
    "大爷 大妈 大娘 大伯 大叔 大婶 大姐 大哥 大嫂 阿姨 阿婆 阿公 阿叔 奶奶 爷爷 婆婆 老太 老汉 老伯 老爷子 老太太 "
    "叔叔 伯伯 婶婶 嫂子 姐姐 哥哥 姐 哥 叔 婶 伯 嫂 姨 爹 妈 家".split(),
    key=len,
    reverse=True,
)
_TITLES = sorted(
    "书记 副书记 主任 副主任 委员 会计 老师 医生 大夫 师傅 先生 女士 小姐 同志 经理 老板 网格员 社工 组长 队长 "
    "村长 镇长 科长 局长 所长 站长 干部 专干 助理".split(),
    key=len,
    reverse=True,
)
_CJK = "[\u4e00-\u9fff]"

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # links and contacts first, so their digits are not half-masked
    (re.compile(r"https?://\S+|www\.\S+", re.I), T.MASK_CONTACT),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), T.MASK_CONTACT),
    (re.compile(r"(?:微信号?|vx|VX|wx|WX|QQ|qq|扣扣)\s*[:：]?\s*[A-Za-z0-9_-]{5,}"), T.MASK_CONTACT),
    # ID-card numbers (18 with a check character, or the old 15 digits), also with spaces every few digits
    (re.compile(r"(?<![0-9])(?:\d[ -]?){17}[\dXx](?![0-9A-Za-z])"), T.MASK_ID),
    (re.compile(r"(?<![0-9])\d{15}(?![0-9])"), T.MASK_ID),
    # mobile numbers (+86 optional, spaces or dashes between groups) and landlines (0512-12345678)
    (re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![0-9])"), T.MASK_PHONE),
    (re.compile(r"(?<![0-9])0\d{2,3}[ -]?\d{7,8}(?![0-9])"), T.MASK_PHONE),
    (re.compile(r"(?<![0-9])\d{6,}(?![0-9])"), T.MASK_NUMBER),
    # house, building and room numbers: 88号, 3栋2单元201室, 5号楼, 3-501, 十二组
    (
        re.compile(
            r"(?:(?:[0-9]+|[一二三四五六七八九十百零〇两]+)\s*(?:号楼|号院|号|栋|幢|座|单元|楼|层|室|户|弄|巷|组|排)"
            r"\s*[-—]?\s*)+(?:[0-9]+(?:[-—][0-9]+)*)?"
        ),
        T.MASK_ADDRESS,
    ),
    (re.compile(r"(?<![0-9])[0-9]{1,4}(?:[-—][0-9]{1,4}){1,3}(?![0-9])"), T.MASK_ADDRESS),
    # 我叫王建国 / 姓名：王建国 / 名叫李四
    (re.compile(rf"(我叫|我姓|名叫|叫做|姓名\s*[:：]?\s*|名字\s*[:：]?\s*(?:叫|是)?)\s*{_SURNAME}{_CJK}{{0,2}}"), r"\1" + T.MASK_FULL_NAME),
    # a full name before a title: 王建国书记, 李红主任
    (re.compile(rf"{_SURNAME}{_CJK}{{1,2}}?(?={'|'.join(('先生', '女士', '同志'))})"), T.MASK_PERSON),
    (re.compile(rf"{_SURNAME}(?=(?:{'|'.join(_TITLES)}))"), T.MASK_PERSON),
    # surname + kinship word: 王大爷, 张阿姨, 李奶奶
    (re.compile(rf"{_SURNAME}(?=(?:{'|'.join(_KIN)}))"), T.MASK_PERSON),
    # 老王, 小张
    (re.compile(rf"[老小][{FAMILIAR_SURNAMES}](?!{_CJK}?(?:{'|'.join(_TITLES)}))"), T.MASK_FULL_NAME),
)
_SPACES = re.compile(r"\s+")
# Full-width digits, letters, "+", "-", "@" and the ideographic space -> ASCII (Chinese punctuation is kept).
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B), 0xFF0B, 0xFF0D, 0xFF20)}
_FULLWIDTH[0x3000] = 0x20


def scrub(text: str | None) -> str:
    """Remove identifying details; whitespace collapsed to single spaces. No shortening."""
    value = (text or "").translate(_FULLWIDTH)
    value = "".join(ch if ch.isprintable() else " " for ch in value)
    for pattern, replacement in _RULES:
        value = pattern.sub(replacement, value)
    return _SPACES.sub(" ", value).strip()


def shorten(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """At most `limit` characters, ending in … when cut (never in the middle of a [mask])."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(T.ELLIPSIS)]
    open_mask = cut.rfind("[")
    if open_mask > cut.rfind("]"):
        cut = cut[:open_mask]
    return cut.rstrip(" ，,。.；;、") + T.ELLIPSIS


def anonymize(text: str | None, limit: int = DEFAULT_LIMIT) -> str:
    """`scrub` then `shorten`; '' when nothing is left."""
    return shorten(scrub(text), limit)


def is_informative(text: str) -> bool:
    """False for what is only masks, punctuation and spaces after scrubbing."""
    stripped = text
    for mask in (T.MASK_ID, T.MASK_PHONE, T.MASK_NUMBER, T.MASK_CONTACT, T.MASK_ADDRESS):
        stripped = stripped.replace(mask, "")
    return any(ch.isalpha() for ch in stripped)


__all__ = ["DEFAULT_LIMIT", "anonymize", "is_informative", "scrub", "shorten"]
