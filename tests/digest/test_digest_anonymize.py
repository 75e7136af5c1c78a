"""Comments shown in the digest are shortened and carry nothing that identifies a person."""

from __future__ import annotations

import pytest

from bot.digest.anonymize import DEFAULT_LIMIT, anonymize, is_informative, scrub
from texts import digest as T


@pytest.mark.parametrize(
    "raw, gone, kept",
    [
        ("电话13812345678，请回电", ["13812345678"], ["请回电", T.MASK_PHONE]),
        ("手机 138-1234-5678", ["1234"], [T.MASK_PHONE]),
        ("手机 +86 138 1234 5678", ["5678"], [T.MASK_PHONE]),
        ("全角１３８１２３４５６７８也算", ["１３８", "138"], [T.MASK_PHONE]),
        ("座机0512-52345678", ["52345678"], [T.MASK_PHONE]),
        ("身份证320582199001011234", ["3205821990"], [T.MASK_ID]),
        ("身份证号32058219900101123X", ["123X"], [T.MASK_ID]),
        ("银行卡6222020200112233445", ["6222"], []),
        ("王大爷家漏水", ["王大爷"], ["某大爷", "漏水"]),
        ("张阿姨和李奶奶都说好", ["张阿姨", "李奶奶"], ["某阿姨", "某奶奶"]),
        ("老王和小张吵架了", ["老王", "小张"], [T.MASK_FULL_NAME]),
        ("刘书记很负责", ["刘书记"], ["某书记"]),
        ("王建国先生反映", ["王建国"], ["某先生"]),
        ("我叫李建国，住这里", ["李建国"], ["我叫某某"]),
        ("姓名：陈小明", ["陈小明"], [T.MASK_FULL_NAME]),
        ("幸福路88号3栋201室漏水", ["88号", "201室", "3栋"], ["幸福路", T.MASK_ADDRESS, "漏水"]),
        ("5号楼2单元302门口", ["302"], [T.MASK_ADDRESS, "门口"]),
        ("住3-501的人", ["3-501"], [T.MASK_ADDRESS]),
        ("三组的路灯坏了", ["三组"], [T.MASK_ADDRESS, "路灯坏了"]),
        ("加微信 abc_12345 联系", ["abc_12345"], [T.MASK_CONTACT]),
        ("邮箱 a.b@qq.com", ["a.b@qq.com"], [T.MASK_CONTACT]),
        ("见 https://example.cn/x?id=1", ["example.cn"], [T.MASK_CONTACT]),
    ],
)
def test_identifying_details_are_removed(raw, gone, kept):
    clean = scrub(raw)
    for fragment in gone:
        assert fragment not in clean, clean
    for fragment in kept:
        assert fragment in clean, clean


@pytest.mark.parametrize(
    "text",
    ["社区服务很好，工作人员态度热情", "小区绿化不错", "希望多组织老年人活动", "小时工太少", "老师很好", "小于五个人"],
)
def test_ordinary_comments_are_left_alone(text):
    assert scrub(text) == text


def test_long_comments_are_shortened_with_an_ellipsis_and_no_half_mask():
    text = "环境" * 50
    short = anonymize(text)
    assert len(short) == DEFAULT_LIMIT and short.endswith(T.ELLIPSIS)
    masked = anonymize("很" * (DEFAULT_LIMIT - 4) + "电话13812345678")
    assert len(masked) <= DEFAULT_LIMIT and "[电" not in masked.replace(T.MASK_PHONE, "")


def test_whitespace_and_control_characters_are_collapsed():
    assert anonymize("  路灯\n\n坏了\t\x00很久 ") == "路灯 坏了 很久"


def test_only_masks_is_not_informative():
    assert not is_informative(anonymize("13812345678"))
    assert not is_informative(anonymize("  "))
    assert is_informative(anonymize("路灯坏了 13812345678"))
