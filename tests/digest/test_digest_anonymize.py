"""Comments shown in the digest are shortened and carry nothing that identifies a person; what the bureau reads
instead is a marker saying what was there (〔姓名〕书记, 〔电话〕), and ordinary words stay as written."""

from __future__ import annotations

import pytest

from bot.digest.anonymize import DEFAULT_LIMIT, Personal, anonymize, find_personal, is_informative, scrub
from texts import digest as T


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("电话13812345678，请回电", f"电话{T.MASK_PHONE}，请回电"),
        ("手机 138-1234-5678 找我", f"手机 {T.MASK_PHONE} 找我"),
        ("手机 +86 138 1234 5678", f"手机 {T.MASK_PHONE}"),
        ("全角１３８１２３４５６７８也算", f"全角{T.MASK_PHONE}也算"),
        ("座机0512-52345678", f"座机{T.MASK_PHONE}"),
        ("座机(0512)58761234没人接", f"座机{T.MASK_PHONE}没人接"),
        ("打我电话一三九六二五八七七四一", f"打我电话{T.MASK_PHONE}"),
        ("身份证320582199001011234", f"身份证{T.MASK_ID}"),
        ("身份证号32058219900101123X丢了", f"身份证号{T.MASK_ID}丢了"),
        ("号码是3205 8219 9002 1534 27", f"号码是{T.MASK_ID}"),
        ("身份证后四位0427", f"身份证后四位{T.MASK_ID}"),
        ("银行卡6222020200112233445", f"银行卡{T.MASK_NUMBER}"),
        ("门口停一辆苏E·7K2Q9的白车", f"门口停一辆{T.MASK_PLATE}的白车"),
        ("停车场 苏 E 3M8K2 那辆车", f"停车场 {T.MASK_PLATE} 那辆车"),
        ("王大爷家漏水", f"{T.MASK_NAME}大爷家漏水"),
        ("张阿姨和李奶奶都说好", f"{T.MASK_NAME}阿姨和{T.MASK_NAME}奶奶都说好"),
        ("老王和小张吵架了", f"{T.MASK_NAME}和{T.MASK_NAME}吵架了"),
        ("刘书记很负责", f"{T.MASK_NAME}书记很负责"),
        ("欧阳书记每次开会都讲一个小时", f"{T.MASK_NAME}书记每次开会都讲一个小时"),
        ("村支书王建国只顾着自家亲戚", f"村支书{T.MASK_NAME}只顾着自家亲戚"),
        ("我叫李建国，住这里", f"我叫{T.MASK_NAME}，住这里"),
        ("姓名：陈小明", f"姓名：{T.MASK_NAME}"),
        ("王 建 国 这个人", f"{T.MASK_NAME} 这个人"),
        ("楼长 宋大姐（宋玉珍）收了钱", f"楼长 {T.MASK_NAME}大姐（{T.MASK_NAME}）收了钱"),
        ("网格员Yang Xiaoping每次都笑眯眯的", f"网格员{T.MASK_NAME}每次都笑眯眯的"),
        ("金建华 金建民 金小军 三兄弟全在村委", f"{T.MASK_NAME} {T.MASK_NAME} {T.MASK_NAME} 三兄弟全在村委"),
        ("幸福路88号3栋201室漏水", f"幸福路{T.MASK_ADDRESS}漏水"),
        ("5号楼2单元302门口", f"{T.MASK_ADDRESS}门口"),
        ("住3-501的人", f"住{T.MASK_ADDRESS}的人"),
        ("家住锦绣苑7-2-1102", f"家住锦绣苑{T.MASK_ADDRESS}"),
        ("我是王家埭18号的", f"我是王家埭{T.MASK_ADDRESS}的"),
        ("加微信 abc_12345 联系", f"加微信 {T.MASK_CONTACT} 联系"),
        ("我qq是 1029384756", f"我qq是 {T.MASK_CONTACT}"),
        ("邮箱 a.b@qq.com", f"邮箱 {T.MASK_CONTACT}"),
        ("见 https://example.cn/x?id=1", f"见 {T.MASK_CONTACT}"),
    ],
)
def test_identifying_details_are_replaced_by_what_they_were(raw, shown):
    assert scrub(raw) == shown


@pytest.mark.parametrize(
    "text",
    [
        "社区服务很好，工作人员态度热情",
        "小区绿化不错",
        "希望多组织老年人活动",
        "小时工太少",
        "老师很好",
        "张罗活动的人很辛苦 白天上班晚上还来 服务周到👍",
        "高明的做法是先把路修好再说别的 第2季度说好的也没动静",
        "李子树被砍了好几棵 就3号楼后面那块",
        "我们王府井小区停车太难了 车位费金额500元一年",
        "马上过年了 村口的路灯还是坏的",
        "我们张家港这边的社区服务还是可以的",
        "门口下水道堵了半个月 打12345也没用",
        "2024年第3季度就通车了 8组和3单元都满意",
        "养老金按时到账 老党员带头捐款",
        "黄金周的时候游客太多 金银花茶很好喝",
        "外地车都停我们小区 苏E开头的倒是没几辆",
        "我和书记说了，要向主任反映",
        "卫健委让社区动员老人打疫苗",
        "11月18号开会 2026-11-18 截止 奖励5000元",
    ],
)
def test_ordinary_comments_are_left_alone(text):
    assert scrub(text) == text


def test_each_piece_is_found_once_with_its_kind():
    text = "王书记电话13812345678，住东街12号，车苏E12345"
    found = [(text[f.start:f.end], f.kind) for f in find_personal(text)]
    assert found == [("王", Personal.NAME), ("13812345678", Personal.PHONE), ("12号", Personal.ADDRESS),
                     ("苏E12345", Personal.PLATE)]


def test_full_width_text_outside_the_masks_stays_as_written():
    assert scrub("２０２４年 电话１３８１２３４５６７８") == f"２０２４年 电话{T.MASK_PHONE}"


def test_long_comments_are_shortened_with_an_ellipsis_and_no_half_mask():
    text = "环境" * 50
    short = anonymize(text)
    assert len(short) == DEFAULT_LIMIT and short.endswith(T.ELLIPSIS)
    masked = anonymize("很" * (DEFAULT_LIMIT - 4) + "电话13812345678")
    assert len(masked) <= DEFAULT_LIMIT and "〔电" not in masked.replace(T.MASK_PHONE, "")
    assert "138" not in masked


def test_whitespace_and_control_characters_are_collapsed():
    assert anonymize("  路灯\n\n坏了\t\x00很久 ") == "路灯 坏了 很久"


def test_only_masks_is_not_informative():
    assert not is_informative(anonymize("13812345678"))
    assert not is_informative(anonymize("  "))
    assert not is_informative(anonymize("王建国 13812345678"))
    assert is_informative(anonymize("路灯坏了 13812345678"))
