"""The task check as a cadre meets it: verdict, item, why and what to do."""

from __future__ import annotations

import pytest

from knowledge import KnowledgeBase


def test_a_forbidden_task_names_the_item_and_says_it_may_be_refused(kb: KnowledgeBase):
    result = kb.check("街道要求每个社区反诈APP注册率到80%，每天群里报数，排名靠后要约谈")
    assert result.verdict == "restricted"
    assert result.in_agreement is False
    assert result.matches[0].id == "C20"
    assert "可依法拒绝" in result.reply and "红牌候选" in result.reply


def test_voice_input_homophone_still_finds_the_item(kb: KnowledgeBase):
    result = kb.check("街道民政科让我们下礼拜把底保户都入户走一遍核收入")
    assert result.verdict == "assist"
    assert result.matches[0].id == "B1"
    assert "经费由委托部门承担" in result.reply


def test_terse_message(kb: KnowledgeBase):
    result = kb.check("低保入户算吗")
    assert result.verdict == "assist" and result.matches[0].id == "B1"


def test_negation_flips_a_forbidden_word_back_to_assisting(kb: KnowledgeBase):
    forbidden = kb.check("人社所让我们上门收医保的钱")
    negated = kb.check("人社所不是让我们收医保的钱，只是宣传一下参保政策")
    assert forbidden.in_agreement is False
    assert negated.verdict == "assist"
    assert negated.matches[0].id == "B6"


def test_a_mixed_request_is_forbidden_and_the_reply_names_both_parts(kb: KnowledgeBase):
    result = kb.check("卫健局让我们帮居民签家庭医生，签约率还排名")
    assert result.verdict == "restricted"
    assert result.matches[0].list == "restricted"  # the forbidden part first, always
    assert result.allowed_part is not None and result.allowed_part.id == "B8"
    assert "B8" in result.reply and result.matches[0].id in result.reply
    assert result.reply.index(result.matches[0].id) < result.reply.index("B8")


def test_the_reason_speaks_to_the_cadre_not_in_matched_strings(kb: KnowledgeBase):
    result = kb.check("住建局发文让社区当拆违责任主体，下周带队拆违章搭建")
    assert result.verdict == "restricted" and result.matches[0].id == "C11"
    reason = next(line for line in result.reply.splitlines() if line.startswith("原因："))
    assert "责任主体" in reason and "拆" in reason
    assert "匹配" not in result.reply and "「" not in reason


def test_a_commercial_asker_is_never_agreement_work(kb: KnowledgeBase):
    for text in ["物业公司让居委会帮他们催缴物业费", "有个培训学校想让社区帮忙在群里发招生广告",
                 "银行让村委会动员村民来办信用卡"]:
        result = kb.check(text)
        assert result.verdict == "unlisted", (text, result.verdict)
        assert result.in_agreement is False


def test_certificate_the_committee_must_not_issue_says_where_to_go(kb: KnowledgeBase):
    result = kb.check("派出所叫社区开个证明，证明张阿姨跟她儿子是母子关系")
    assert result.verdict == "certificate_refused"
    assert result.matches[0].id == "P1"
    assert "不应出具" in result.reply
    assert "公证" in result.reply  # where the family can get the proof instead


def test_a_certificate_the_committee_may_issue_is_assisting(kb: KnowledgeBase):
    result = kb.check("租房的小伙子办居住证，要社区开居住证明")
    assert result.verdict == "assist" and result.matches[0].id == "B27"


def test_own_statutory_duty(kb: KnowledgeBase):
    result = kb.check("两户人家因为宅基地边界吵起来了，我们先调解一下行吧")
    assert result.verdict == "duty" and result.matches[0].id == "A3"
    assert "应当办理" in result.reply


@pytest.mark.parametrize("text", ["你好", "谢谢啦", "在吗", "今天天气怎么样"])
def test_small_talk_gets_help_not_a_classification(kb: KnowledgeBase, text: str):
    result = kb.check(text)
    assert result.verdict == "chitchat"
    assert result.matches == ()
    assert result.in_agreement is None


def test_an_ambiguous_request_offers_the_closest_items(kb: KnowledgeBase):
    result = kb.check("有个事想问问")
    assert result.verdict == "unclear" and result.in_agreement is None
    assert "可依法拒绝" not in result.reply and "在协议内" not in result.reply


def test_a_request_with_nothing_to_go_on_asks_for_the_department_and_the_task(kb: KnowledgeBase):
    result = kb.check("镇里打电话让我们配合一下")
    assert result.verdict == "unclear"
    assert "在协议内" not in result.reply


@pytest.mark.parametrize("text", ["街道不是让我们收钱，只是宣传", "不用我们打卡排名，只要上报一下数据",
                                  "不用当责任主体，只是巡查看到就报"])
def test_a_denied_forbidden_part_is_not_a_refusal(kb: KnowledgeBase, text: str):
    """What a denial covers is not demanded: with the forbidden part denied, only an assisting role is left."""
    result = kb.check(text)
    assert result.verdict in ("assist", "unclear"), result.verdict
    assert "可依法拒绝" not in result.reply and "红牌" not in result.reply


def test_a_disclaimer_that_only_disguises_enforcement_is_still_refused(kb: KnowledgeBase):
    result = kb.check("城管说不是让你们执法，只是以居委会名义给商户下整改通知，限期不改就罚款")
    assert result.verdict == "restricted" and result.in_agreement is False


def test_a_task_outside_every_list_is_unlisted(kb: KnowledgeBase):
    result = kb.check("镇里让我们帮银行推销信用卡，每村十张")
    assert result.verdict in ("unlisted", "restricted")
    assert result.in_agreement is False


def test_the_reply_fits_a_phone_screen(kb: KnowledgeBase):
    for text in ["应急局让社区做消防安全检查，还要签责任状，出事社区负责", "低保入户算吗", "派出所让社区开个证明说这户人家养的狗是他们的"]:
        reply = kb.check(text).reply
        assert len(reply.splitlines()) <= 6
        assert len(reply) < 400


def test_long_message_with_names_and_context(kb: KnowledgeBase):
    text = ("李书记你好，我是东湖村的小王。昨天下午镇上开会，农业农村局的张科长说今年秸秆禁烧要层层签责任状，"
            "每个村每周报一次台账，出现一个火点就一票否决，年底考核直接不合格。我们村人手就三个，这个我们必须签吗？")
    result = kb.check(text)
    assert result.verdict == "restricted"
    assert result.matches[0].id in ("C15", "C16")


def test_department_is_guessed_from_the_alias_table(kb: KnowledgeBase):
    department = kb.check("派出所让社区每月报出租屋和流动人口信息").department
    assert department == kb.departments.canonical("派出所")
    assert "公安" in department or "派出所" in department
    assert kb.check("街道民政科让我们下礼拜把低保户都入户走一遍").department == kb.departments.canonical("街道")


def test_json_contract(kb: KnowledgeBase):
    data = kb.check("武装部让摸一下今年适龄青年名单，做征兵宣传").to_json()
    assert set(data) == {"verdict", "in_agreement", "matches", "reply"}
    assert data["verdict"] == "assist" and data["in_agreement"] is True
    assert data["matches"][0]["id"] == "B4"
    assert set(data["matches"][0]) == {"id", "list", "title", "score"}
    assert 0 < data["matches"][0]["score"] <= 1
    assert len(data["matches"]) <= 3
