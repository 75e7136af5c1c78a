"""What the check reads in a message before the model sees it: dialect, mis-heard words, names, who asks."""

from __future__ import annotations

import pytest

from knowledge import KnowledgeBase
from knowledge.reading import Asker


@pytest.mark.parametrize("heard, meant", [
    ("镇里让我们崔报数据", "催报"), ("子女不赡样老人", "赡养"), ("招募志原者", "志愿"), ("免废体检", "免费"),
    ("发现违见要上报", "违建"), ("开个政明", "证明"), ("猜灯迷活动", "灯谜"),
])
def test_a_misheard_word_is_recovered_by_its_sound(kb: KnowledgeBase, heard: str, meant: str):
    assert meant in kb.preparer.prepare(heard).text


@pytest.mark.parametrize("text", ["大家一起打扫卫生", "维权知识讲座", "物业让我们收费"])
def test_real_words_are_left_alone(kb: KnowledgeBase, text: str):
    assert kb.preparer.prepare(text).text == kb.preparer.canonical(text)


@pytest.mark.parametrize("dialect, mandarin", [
    ("阿拉村里想自家搞伐", "我们村里想自己搞吗"), ("俺们咋整", "我们怎么办"), ("啥子事哦豁恼火", "什么事哎呀麻烦"),
    ("唔系我哋嘅事", "不是我们的事"), ("中不中", "行不行"),
])
def test_dialect_words_are_read_as_mandarin(kb: KnowledgeBase, dialect: str, mandarin: str):
    assert kb.preparer.prepare(dialect).text == mandarin


def test_a_persons_name_is_not_read_as_a_topic(kb: KnowledgeBase):
    prepared = kb.preparer.prepare("张美华让我们帮忙看看")
    assert "美化" not in prepared.text and "美华" not in prepared.text
    # The name is masked, so it cannot pull the answer towards 绿化美化 (B19).
    result = kb.check("张美华让我们帮忙看看")
    assert not result.matches or result.matches[0].id != "B19"


@pytest.mark.parametrize("text, asker", [
    ("有商户乱摆广告牌，城管叫我们先去提醒一下", Asker.GOVERNMENT),
    ("物业公司让居委会帮他们催缴物业费", Asker.COMMERCIAL),
    ("镇里转来保险公司的农房保险，说每村有任务数", Asker.GOVERNMENT),
    ("村里想自己办个法律小课堂", Asker.COMMITTEE),
    ("有个居民来要开居住证明", Asker.RESIDENT),
])
def test_who_asks_is_the_party_that_hands_over_the_work(kb: KnowledgeBase, text: str, asker: Asker):
    assert kb.reader.read(kb.preparer.prepare(text).text).asker == asker


def test_a_denial_covers_the_role_it_names(kb: KnowledgeBase):
    read = kb.reader.read(kb.preparer.prepare("不用当责任主体，只是巡查看到就报").text)
    assert read.forbidden_roles == () and read.denied
    read = kb.reader.read(kb.preparer.prepare("不是让你们执法，要你们当责任主体发整改通知").text)
    assert [word for word, _ in read.forbidden_roles] == ["责任主体"]
