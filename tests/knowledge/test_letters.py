"""生成回复函 without Telegram: the templates load and validate, and each letter says what its reader needs."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from knowledge.letters import (
    MAX_TEXT,
    LetterKind,
    LetterTemplateError,
    committee_name,
    compose_letter,
    letter_kind_for,
    load_letter_templates,
    templates_for,
    unknown_basis,
)
from knowledge.loader import bundled_data_dir
from knowledge.model import Verdict

DAY = date(2026, 12, 2)
TASK = "街道让我们收医保的钱还要排名"
VILLAGE = committee_name("东湖村", "示范镇")
COMMUNITY = committee_name("滨江社区", "临江街道")


def letter(kb, kind, item_id=None, committee=VILLAGE, department="街道办事处", task=TASK, item=None):
    chosen = item if item is not None else (kb.items[item_id] if item_id else None)
    return compose_letter(kind, item=chosen, committee_name=committee, department=department, today=DAY,
                          task_text=task, statutes=kb.raw.statutes)


def test_the_bundled_templates_have_every_kind_and_cite_known_statutes(kb):
    templates = load_letter_templates()
    assert set(templates.templates) == set(LetterKind)
    assert unknown_basis(templates, set(kb.raw.statutes)) == []


def test_the_committee_is_named_as_on_its_seal():
    assert committee_name("东湖村", "示范镇") == "示范镇东湖村村民委员会"
    assert committee_name("新河社区") == "新河社区居民委员会"
    assert committee_name("城厢镇东林村", "城厢镇") == "城厢镇东林村村民委员会"  # the town is not said twice


def test_only_refusals_get_a_letter():
    assert letter_kind_for(Verdict.RESTRICTED) == LetterKind.RESTRICTED
    assert letter_kind_for("unlisted") == LetterKind.UNLISTED
    assert letter_kind_for("certificate_refused") == LetterKind.CERTIFICATE
    for verdict in ("duty", "assist", "unclear", "chitchat", "nonsense", ""):
        assert letter_kind_for(verdict) is None, verdict


def test_a_restricted_letter_declines_citing_the_item_its_basis_and_the_law(kb):
    item = kb.items["C1"]
    text = letter(kb, LetterKind.RESTRICTED, "C1").as_text()
    assert text.splitlines()[2] == "街道办事处："  # addressed to the department the message named
    assert f"C1 {item.title}" in text and TASK in text and item.reason in text
    assert "村组法第5条" in text and "民发〔2015〕136号" in text
    assert kb.raw.statutes["村组法第5条"]["text"] in text  # the article itself, quoted
    assert "居组法" not in text  # a village committee cites its own law
    assert "协议书" in text and "费随事转" in text  # the way to have it done as assisted work
    assert text.endswith(f"{VILLAGE}（盖章）\n2026年12月2日")


def test_a_community_letter_cites_the_residents_committee_law(kb):
    text = letter(kb, LetterKind.RESTRICTED, "C1", committee=COMMUNITY).as_text()
    assert "居组法第20条" in text and kb.raw.statutes["居组法第20条"]["text"] in text
    assert "村组法" not in text and "不在居民委员会依法履行职责事项" in text


def test_without_a_department_the_letter_leaves_a_line_to_fill(kb):
    composed = letter(kb, LetterKind.RESTRICTED, "C20", department=None)
    assert composed.salutation == "________："
    assert composed.file_name == "回复函-C20.docx"


def test_a_paragraph_without_its_value_is_left_out(kb):
    item = dataclasses.replace(kb.items["C20"], reason="")
    text = letter(kb, LetterKind.RESTRICTED, item=item).as_text()
    assert "具体原因" not in text and "{" not in text
    # C20 rests on policy documents only: no article of law to quote, and no empty line instead.
    assert "规定：“" not in text and "\n\n\n" not in text


def test_an_unlisted_task_asks_for_an_agreement_and_its_fee(kb):
    composed = letter(kb, LetterKind.UNLISTED, department="镇政府")
    text = composed.as_text()
    assert text.splitlines()[2] == "镇政府："
    assert "权随责走、费随事转" in text and "项目协议书" in text and "经费" in text
    assert "村组法第37条" in text and kb.raw.statutes["村组法第37条"]["text"] in text
    assert composed.file_name == "回复函-协议申请.docx"
    assert "B6" not in text


def test_an_unlisted_task_names_the_assist_item_the_agreement_left_out(kb):
    left_out = dataclasses.replace(kb.items["B6"], enabled=False)
    composed = letter(kb, LetterKind.UNLISTED, item=left_out)
    assert f"B6 {left_out.title}" in composed.as_text() and "未列入本年度协议书" in composed.as_text()
    assert composed.file_name == "回复函-B6.docx"
    # A B item the agreement does include is no reason for this letter: it is not named.
    assert "B6" not in letter(kb, LetterKind.UNLISTED, "B6").as_text()


def test_a_refused_certificate_is_a_card_for_the_resident(kb):
    item = kb.items["P1"]
    composed = letter(kb, LetterKind.CERTIFICATE, "P1", department="公安机关")
    text = composed.as_text()
    assert item.title in composed.title
    assert item.issuer.rstrip("。") in text  # which body issues it
    assert item.advice.rstrip("。") in text  # what to do and bring
    assert item.basis[0] in text and VILLAGE in text and "公安机关" in text
    assert TASK not in text  # the cadre's own words are not for the resident
    assert composed.file_name == "办事指引-P1.docx"


def test_every_letter_fits_one_message_whatever_the_task(kb):
    long_task = "让我们" + "帮忙" * 2000
    for kind, item_id in ((LetterKind.RESTRICTED, "C1"), (LetterKind.UNLISTED, None), (LetterKind.CERTIFICATE, "P1")):
        composed = letter(kb, kind, item_id, task=long_task)
        assert len(composed.as_text()) <= MAX_TEXT
    longest = max((letter(kb, LetterKind.RESTRICTED, i, task=long_task) for i in kb.items if i.startswith("C")),
                  key=lambda c: len(c.as_text()))
    assert len(longest.as_text()) <= MAX_TEXT


def test_a_letter_needs_the_item_its_kind_is_about(kb):
    with pytest.raises(ValueError):
        letter(kb, LetterKind.RESTRICTED)
    with pytest.raises(ValueError):
        letter(kb, LetterKind.CERTIFICATE, "C1")


# ---------------------------------------------------------------------------------------------- validation


def edited_templates(tmp_path: Path, old: str, new: str) -> Path:
    text = (bundled_data_dir() / "letters.yaml").read_text(encoding="utf-8")
    assert old in text, f"the bundled letters.yaml no longer has {old!r}: edit this test"
    path = tmp_path / "letters.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "named"), [
    ("具体原因：{reason}。", "具体原因：{item_reason}。", ("restricted", "{item_reason}", "paragraphs")),
    ("具体原因：{reason}。", "出具：{issuer}。", ("restricted", "{issuer}")),  # another kind's placeholder
    ("title: 关于签订项目协议书的函", "title: 关于{item_title}的函", ("unlisted", "{item_title}", "title")),
    ("title: 办事指引：{item_title}", "title: 办事指引：{item_title", ("certificate_refused", "title")),
])
def test_a_wrong_placeholder_fails_naming_the_template(tmp_path, old, new, named):
    with pytest.raises(LetterTemplateError) as error:
        load_letter_templates(edited_templates(tmp_path, old, new))
    for word in named:
        assert word in str(error.value), str(error.value)


def test_a_missing_template_fails_naming_it(tmp_path):
    with pytest.raises(LetterTemplateError, match="certificate_refused"):
        load_letter_templates(edited_templates(tmp_path, "  certificate_refused:\n", "  certificate:\n"))


def test_a_knowledge_directory_without_letters_uses_the_bundled_ones(tmp_path):
    assert templates_for(str(tmp_path)) == templates_for(None)
    own = tmp_path / "own"
    own.mkdir()
    edited_templates(own, "特此函复。", "此复。")
    assert templates_for(str(own)).templates[LetterKind.RESTRICTED].closing == ("此复。",)
