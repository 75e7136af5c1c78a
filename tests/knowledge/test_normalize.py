from knowledge.normalize import normalize


def test_traditional_becomes_simplified():
    assert normalize("檔案館要求社區把歷年資料重新裝訂") == "档案馆要求社区把历年资料重新装订"


def test_full_width_letters_and_digits_become_half_width():
    assert normalize("ＡＰＰ注册率８０％") == "app注册率80"


def test_markup_emoji_and_control_characters_are_dropped():
    assert normalize("<b>低保</b>😀\u200b\x00入户") == "低保入户"


def test_clause_breaks_collapse_to_one_comma():
    assert normalize("不是收钱！！只是宣传。。") == "不是收钱，只是宣传"


def test_nothing_left_of_emoji_only_text():
    assert normalize("😀🙏👍") == ""
