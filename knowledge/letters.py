"""生成回复函: the letter a cadre forwards after a check, composed from the templates in data/letters.yaml.

    templates = load_letter_templates()                 # validated; LetterTemplateError names what is wrong
    kind = letter_kind_for(result.verdict)               # None: this answer needs no letter
    letter = compose_letter(kind, item=kb.items["C20"], committee_name=committee_name("东湖村", "示范镇"),
                            department="街道办事处", today=date.today(), task_text=text,
                            statutes=kb.raw.statutes)
    letter.as_text()                                     # ready to forward; letter.paragraphs for a document

Pure: nothing here knows Telegram or the database. A paragraph whose placeholders have no value (no item, no
article of law to quote) is left out, so one template serves every item.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from knowledge.loader import bundled_data_dir
from knowledge.model import Item, ListKind, Verdict
from texts import letters as T

TEMPLATE_FILE = "letters.yaml"
MAX_TEXT = 4096  # one Telegram message


class LetterKind(StrEnum):
    """One template each; equal to the verdict it answers."""

    RESTRICTED = "restricted"
    UNLISTED = "unlisted"
    CERTIFICATE = "certificate_refused"


LETTER_OF_VERDICT: dict[Verdict, LetterKind] = {
    Verdict.RESTRICTED: LetterKind.RESTRICTED,
    Verdict.UNLISTED: LetterKind.UNLISTED,
    Verdict.CERTIFICATE_REFUSED: LetterKind.CERTIFICATE,
}
# The list the item of a letter must come from (an unlisted task has none, or a B item left out of the agreement).
ITEM_LIST: dict[LetterKind, ListKind] = {LetterKind.RESTRICTED: ListKind.RESTRICTED,
                                        LetterKind.CERTIFICATE: ListKind.CERTIFICATE,
                                        LetterKind.UNLISTED: ListKind.ASSIST}

_COMMON = frozenset({"committee", "committee_kind", "department", "date", "task"})
_ITEM = frozenset({"item_id", "item_title"})
# Placeholders each kind may use, and those that always have a value (a title or file name can rely on them).
PLACEHOLDERS: dict[LetterKind, frozenset[str]] = {
    LetterKind.RESTRICTED: _COMMON | _ITEM | {"reason", "basis", "basis_quote"},
    LetterKind.UNLISTED: _COMMON | _ITEM | {"basis", "basis_quote"},
    LetterKind.CERTIFICATE: _COMMON | _ITEM | {"issuer", "bring", "basis", "basis_quote"},
}
ALWAYS_KNOWN: dict[LetterKind, frozenset[str]] = {
    LetterKind.RESTRICTED: _COMMON | _ITEM,
    LetterKind.UNLISTED: _COMMON,
    LetterKind.CERTIFICATE: _COMMON | _ITEM,
}
LINE_FIELDS = ("title", "salutation", "closing", "file_name")  # one line each: the first alternative that resolves


class LetterTemplateError(ValueError):
    """letters.yaml is wrong; the message names the template and the field."""


@dataclass(frozen=True)
class Template:
    kind: LetterKind
    title: tuple[str, ...]  # alternatives, best first
    salutation: tuple[str, ...]
    paragraphs: tuple[str, ...]
    closing: tuple[str, ...]
    file_name: tuple[str, ...]
    basis: tuple[str, ...] = ()  # the template's own basis (unlisted: the principle 费随事转), else the item's


@dataclass(frozen=True)
class CommitteeNaming:
    village_suffix: str
    community_suffix: str
    community_endings: tuple[str, ...]
    village_law: str
    community_law: str


@dataclass(frozen=True)
class LetterTemplates:
    templates: dict[LetterKind, Template]
    committee: CommitteeNaming
    date_format: str
    blank: str
    basis_joiner: str
    quote: str
    task_max: int
    signature: tuple[str, ...]


@dataclass(frozen=True)
class Letter:
    kind: LetterKind
    title: str
    salutation: str
    paragraphs: tuple[str, ...]
    closing: str
    signature: tuple[str, ...]  # right-aligned at the bottom: the committee with its seal, the date
    file_name: str

    def as_text(self) -> str:
        """The letter as one message, ready to forward."""
        body = "\n".join((self.salutation, *self.paragraphs, self.closing))
        return "\n\n".join((self.title, body, "\n".join(self.signature)))


# ---------------------------------------------------------------------------------------------- loading


def load_letter_templates(path: str | Path | None = None) -> LetterTemplates:
    """Read and validate the templates (default: the bundled knowledge/data/letters.yaml)."""
    path = Path(path) if path else bundled_data_dir() / TEMPLATE_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LetterTemplateError(T.FILE_PROBLEM.format(path=path, problem=exc)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("templates"), dict):
        raise LetterTemplateError(T.NOT_MAPPING.format(path=path))
    return _templates_from(data)


@lru_cache(maxsize=8)
def templates_for(data_dir: str | None = None) -> LetterTemplates:
    """The templates of a knowledge directory, or the bundled ones when it has none (read once per process)."""
    own = Path(data_dir) / TEMPLATE_FILE if data_dir else None
    return load_letter_templates(own if own is not None and own.is_file() else None)


def _templates_from(data: dict[str, Any]) -> LetterTemplates:
    raw_templates: dict[str, Any] = data["templates"]
    kinds = ", ".join(LetterKind)
    for name in raw_templates:
        if name not in set(LetterKind):
            raise LetterTemplateError(T.UNKNOWN_TEMPLATE.format(template=name, kinds=kinds))
    templates: dict[LetterKind, Template] = {}
    for kind in LetterKind:
        if not isinstance(raw_templates.get(kind), dict):
            raise LetterTemplateError(T.MISSING_TEMPLATE.format(template=kind, kinds=kinds))
        templates[kind] = _template(kind, raw_templates[kind])
    committee = data.get("committee")
    if not isinstance(committee, dict):
        raise LetterTemplateError(T.MISSING_SETTING.format(field="committee"))
    naming = CommitteeNaming(
        village_suffix=_setting(committee, "village_suffix"), community_suffix=_setting(committee, "community_suffix"),
        community_endings=tuple(str(e) for e in committee.get("community_endings") or ()),
        village_law=_setting(committee, "village_law"), community_law=_setting(committee, "community_law"))
    signature = _texts("signature", "signature", data.get("signature"))
    for line in signature:
        _check_placeholders("signature", "signature", line, frozenset({"committee", "date"}))
    date_format = _setting(data, "date")
    _check_placeholders("date", "date", date_format, frozenset({"year", "month", "day"}))
    quote = _setting(data, "quote")
    _check_placeholders("quote", "quote", quote, frozenset({"law", "article", "text"}))
    return LetterTemplates(templates, naming, date_format, blank=_setting(data, "blank"),
                           basis_joiner=_setting(data, "basis_joiner"), quote=quote,
                           task_max=int(data.get("task_max") or 120), signature=signature)


def _setting(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value:
        raise LetterTemplateError(T.MISSING_SETTING.format(field=field))
    return value


def _template(kind: LetterKind, raw: dict[str, Any]) -> Template:
    allowed, always = PLACEHOLDERS[kind], ALWAYS_KNOWN[kind]
    fields: dict[str, tuple[str, ...]] = {}
    for field in (*LINE_FIELDS, "paragraphs"):
        fields[field] = _texts(kind, field, raw.get(field))
        for text in fields[field]:
            _check_placeholders(kind, field, text, allowed)
    for field in LINE_FIELDS:  # the last way of writing a line must always resolve
        _check_placeholders(kind, field, fields[field][-1], always)
    basis = tuple(str(b) for b in raw.get("basis") or ())
    return Template(kind, fields["title"], fields["salutation"], fields["paragraphs"], fields["closing"],
                    fields["file_name"], basis)


def _texts(template: str, field: str, value: Any) -> tuple[str, ...]:
    if value is None or value == [] or value == "":
        raise LetterTemplateError(T.MISSING_FIELD.format(template=template, field=field))
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v.strip() for v in values):
        raise LetterTemplateError(T.FIELD_NOT_TEXT.format(template=template, field=field))
    return tuple(v.strip() for v in values)


def placeholders(text: str) -> list[str]:
    """The placeholder names of a template text; ValueError for a malformed one ("{item", "{0}", "{a.b}")."""
    names: list[str] = []
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}")
        names.append(name)
    return names


def _check_placeholders(template: str, field: str, text: str, allowed: frozenset[str]) -> None:
    try:
        names = placeholders(text)
    except ValueError as exc:
        raise LetterTemplateError(T.BAD_PLACEHOLDER.format(template=template, field=field, problem=exc)) from exc
    for name in names:
        if name not in allowed:
            known = " ".join(f"{{{n}}}" for n in sorted(allowed))
            raise LetterTemplateError(T.UNKNOWN_PLACEHOLDER.format(template=template, field=field, name=name,
                                                                   known=known))


def unknown_basis(templates: LetterTemplates, statute_keys: set[str] | frozenset[str]) -> list[str]:
    """Problems of the templates' own basis keys against the statutes (national/statutes.yaml) — none when fine."""
    return [T.UNKNOWN_BASIS.format(template=t.kind, key=key)
            for t in templates.templates.values() for key in t.basis if key not in statute_keys]


# ---------------------------------------------------------------------------------------------- composing


def is_community(name: str, templates: LetterTemplates | None = None) -> bool:
    """A 社区 has a 居民委员会; anything else (a 村) a 村民委员会."""
    naming = (templates or templates_for()).committee
    return name.endswith(naming.community_endings)


def committee_name(village: str, town: str = "", templates: LetterTemplates | None = None) -> str:
    """The committee's full name: 示范镇 + 东湖村 + 村民委员会; the town only when the name does not carry it."""
    naming = (templates or templates_for()).committee
    village = village.strip()
    suffix = naming.community_suffix if is_community(village, templates) else naming.village_suffix
    prefix = town.strip() if town and not village.startswith(town.strip()) else ""
    return f"{prefix}{village}{suffix}"


def format_date(day: date, templates: LetterTemplates | None = None) -> str:
    return (templates or templates_for()).date_format.format(year=day.year, month=day.month, day=day.day)


def letter_kind_for(verdict: str) -> LetterKind | None:
    """The letter an answer with this verdict gets, or None (duty, assist, unclear, chitchat)."""
    return LETTER_OF_VERDICT.get(Verdict(verdict)) if verdict in set(Verdict) else None


def compose_letter(kind: LetterKind, *, item: Item | None, committee_name: str, department: str | None,
                   today: date, task_text: str, statutes: Mapping[str, Mapping[str, Any]] | None = None,
                   templates: LetterTemplates | None = None) -> Letter:
    """The letter of `kind` for this task. `item` is the check's C or P item (required for those kinds); for an
    unlisted task, a B item the town's agreement left out, or None. `statutes` (kb.raw.statutes) lets the letter
    quote the article of 村组法/居组法 it relies on."""
    templates = templates or templates_for()
    template = templates.templates[kind]
    if kind == LetterKind.UNLISTED:
        item = item if item is not None and item.list == ListKind.ASSIST and not item.enabled else None
    elif item is None or item.list != ITEM_LIST[kind]:
        raise ValueError(f"a {kind} letter needs an item of the {ITEM_LIST[kind]} list, not {item}")
    community = committee_name.endswith(templates.committee.community_suffix)
    basis = _basis(template.basis or (item.basis if item else ()), community, templates)
    if not basis and item is not None:  # no statute key: the documents the item comes from
        basis = tuple(dict.fromkeys(s.doc for s in item.sources if s.doc))
    values: dict[str, str | None] = {
        "committee": committee_name,
        "committee_kind": templates.committee.community_suffix if community else templates.committee.village_suffix,
        "department": (department or "").strip() or templates.blank,
        "date": format_date(today, templates),
        "task": _shortened(task_text, templates.task_max),
        "item_id": item.id if item else None,
        "item_title": item.title if item else None,
        "reason": _clause(item.reason) if item else None,
        "basis": templates.basis_joiner.join(basis) or None,
        "basis_quote": _quote(basis, statutes or {}, community, templates),
        "issuer": _clause(item.issuer) if item else None,
        "bring": _clause(item.resident_bring or item.advice) if item else None,
    }
    paragraphs = tuple(p for p in (_filled(text, values) for text in template.paragraphs) if p)
    return Letter(
        kind=kind, title=_first(template.title, values), salutation=_first(template.salutation, values),
        paragraphs=paragraphs, closing=_first(template.closing, values),
        signature=tuple(line.format(committee=committee_name, date=values["date"]) for line in templates.signature),
        file_name=_first(template.file_name, values),
    )


def _basis(keys: Sequence[str], community: bool, templates: LetterTemplates) -> tuple[str, ...]:
    """The keys a letter cites: a 村委会's letter leaves out 居组法 and a 居委会's 村组法 (unless nothing else is left)."""
    other = templates.committee.village_law if community else templates.committee.community_law
    own = tuple(k for k in keys if not k.startswith(other))
    return own or tuple(keys)


def _quote(basis: Sequence[str], statutes: Mapping[str, Mapping[str, Any]], community: bool,
           templates: LetterTemplates) -> str | None:
    """The first article of the committee's own organic law among the basis, quoted in full."""
    law = templates.committee.community_law if community else templates.committee.village_law
    for key in basis:
        entry = statutes.get(key)
        if key.startswith(law) and entry and entry.get("text"):
            return templates.quote.format(law=str(entry.get("law", "")), article=str(entry.get("article", "")),
                                          text=str(entry["text"]).strip())
    return None


def _clause(text: str) -> str | None:
    """A knowledge-base sentence used inside a letter's sentence: without its final stop; None if empty."""
    text = (text or "").strip().rstrip("。；;，,")
    return text or None


def _shortened(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit] + T.TASK_ELLIPSIS


def _filled(text: str, values: Mapping[str, str | None]) -> str | None:
    """The text with its placeholders filled, or None when one of them has no value."""
    names = placeholders(text)
    if any(values.get(name) is None for name in names):
        return None
    return text.format(**{name: values[name] for name in names}).strip() or None


def _first(alternatives: Sequence[str], values: Mapping[str, str | None]) -> str:
    for text in alternatives:
        filled = _filled(text, values)
        if filled:
            return filled
    raise LetterTemplateError(alternatives[-1])  # cannot happen: validation makes the last one always resolve


__all__ = ["ALWAYS_KNOWN", "LETTER_OF_VERDICT", "Letter", "LetterKind", "LetterTemplateError", "LetterTemplates",
           "PLACEHOLDERS", "Template", "committee_name", "compose_letter", "format_date", "is_community",
           "letter_kind_for", "load_letter_templates", "placeholders", "templates_for", "unknown_basis"]
