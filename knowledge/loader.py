"""Reads the layered YAML files into items and vocabularies, and reports every problem with file and line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, TypedDict

import yaml

from knowledge.corpus import (
    CATEGORIES,
    NO_ITEM_VERDICTS,
    VERDICT_LIST_PREFIX,
    CorpusRecord,
    corpus_files,
    read_corpus_file,
)
from knowledge.evaluation_terms import agreement_problems, scheme_problems
from knowledge.model import LIST_KINDS, Item, ListKind, Source
from texts import kb as K

PROVENANCE_TAGS = ("原文", "摘要", "推断", "SEED")
ID_PATTERN = {"duty": ("A", 10), "assist": ("B", 27), "restricted": ("C", 27), "certificate": ("P", 20)}
LIST_LABEL = K.LIST_LABEL
CERTIFICATE_ROLES = ("", "issuable", "baseless")
PROFILE_FILES = {"duties.yaml": "duty", "assist.yaml": "assist", "restricted.yaml": "restricted"}


def bundled_data_dir() -> Path:
    return Path(str(resources.files("knowledge") / "data"))


def profile_names(root: Path | None = None) -> list[str]:
    """The profiles a knowledge directory has (each a folder under profiles/), sorted."""
    folder = (Path(root) if root else bundled_data_dir()) / "profiles"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def agreement_names(root: Path | None = None) -> list[str]:
    """The town agreements a knowledge directory has (each agreements/<name>.yaml), sorted."""
    folder = (Path(root) if root else bundled_data_dir()) / "agreements"
    return sorted(p.stem for p in folder.glob("*.yaml") if p.is_file()) if folder.is_dir() else []


@dataclass(frozen=True)
class Problem:
    """One thing a deployer must fix, with where it is."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class KnowledgeBaseError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present: 10x faster


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that remembers the line of every mapping as the key `__line__`."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping = yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class RawKnowledge:
    """Everything read from disk, before the matcher indexes it."""

    items: dict[str, Item] = field(default_factory=dict)
    statutes: dict[str, dict] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)  # variant -> canonical
    departments: dict[str, str] = field(default_factory=dict)  # alias -> canonical name
    cues: dict[str, list[str]] = field(default_factory=dict)
    forbidden_roles: list[tuple[str, str]] = field(default_factory=list)  # (role word, default C item)
    profile: dict = field(default_factory=dict)
    agreement: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)  # evaluation.yaml: the two-way evaluation's aspects and grades
    out_roles: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (reason, words or re: patterns)
    dialect: dict[str, str] = field(default_factory=dict)  # dialect word -> Mandarin
    askers: dict[str, list[str]] = field(default_factory=dict)  # kind of asker -> words
    surnames: str = ""
    corpus: list[CorpusRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class _Reader:
    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []
        self.basis_refs: list[tuple[Path, int, str, str]] = []  # checked once statutes are known
        self.item_sites: dict[str, tuple[Path, int]] = {}  # item ID -> where it is written
        self.list_files: dict[str, Path] = {}  # list kind -> the file that holds it

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def problem(self, path: Path, line: int, message: str) -> None:
        self.problems.append(Problem(self.rel(path), line, message))

    def load(self, path: Path, required: bool = True) -> dict:
        if not path.is_file():
            if required:
                self.problem(path, 0, K.FILE_MISSING)
            return {}
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 0
            self.problem(path, line, K.YAML_ERROR.format(problem=getattr(exc, "problem", exc)))
            return {}
        except UnicodeDecodeError:
            self.problem(path, 0, K.NOT_UTF8)
            return {}
        if not isinstance(data, dict):
            self.problem(path, 1, K.NOT_MAPPING)
            return {}
        return data


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    return tuple(str(v).strip() for v in value if str(v).strip())


def _read_items(reader: _Reader, path: Path, expected: str, layer: str, raw: RawKnowledge) -> None:
    data = reader.load(path)
    if not data:
        return
    kind = data.get("list")
    reader.list_files[expected] = path
    if kind != expected:
        reader.problem(path, data.get("__line__", 1), K.WRONG_LIST.format(expected=expected, label=LIST_LABEL[expected], kind=kind))
        return
    prefix, highest = ID_PATTERN[expected]
    for entry in data.get("items") or []:
        line = entry.get("__line__", 0) if isinstance(entry, dict) else 0
        if not isinstance(entry, dict):
            reader.problem(path, line, K.ITEM_NOT_MAPPING)
            continue
        item_id = str(entry.get("id", "")).strip()
        match = re.fullmatch(rf"{prefix}(\d+)", item_id)
        if not match or not 1 <= int(match.group(1)) <= highest:
            reader.problem(path, line, K.UNKNOWN_ID.format(item_id=item_id, label=LIST_LABEL[expected], prefix=prefix, highest=highest))
            continue
        if item_id in raw.items:
            reader.problem(path, line, K.DUPLICATE_ID.format(item_id=item_id))
            continue
        missing = [key for key in ("title", "text", "advice") if not str(entry.get(key, "") or "").strip()]
        if missing:
            reader.problem(path, line, K.MISSING_FIELDS.format(item_id=item_id, fields=K.JOIN.join(missing)))
        provenance = str(entry.get("provenance", "")).strip().strip("[]")
        if provenance not in PROVENANCE_TAGS:
            reader.problem(path, line, K.BAD_PROVENANCE.format(item_id=item_id, tags="/".join(PROVENANCE_TAGS), value=provenance))
        sources = []
        for src in entry.get("sources") or []:
            if isinstance(src, dict) and str(src.get("doc", "")).strip():
                sources.append(Source(doc=str(src["doc"]).strip(), ref=str(src.get("ref", "") or ""),
                                      article=str(src.get("article", "") or ""), date=str(src.get("date", "") or "")))
            else:
                reader.problem(path, (src.get("__line__") or line) if isinstance(src, dict) else line,
                               K.SOURCE_WITHOUT_DOC.format(item_id=item_id))
        if not sources:
            reader.problem(path, line, K.NO_SOURCES.format(item_id=item_id))
        keywords = _strings(entry.get("keywords"))
        if not keywords:
            reader.problem(path, line, K.NO_KEYWORDS.format(item_id=item_id))
        raw.items[item_id] = Item(
            id=item_id, list=ListKind(expected), title=str(entry.get("title", "")).strip(), text=str(entry.get("text", "")).strip(),
            provenance=provenance, sources=tuple(sources), advice=str(entry.get("advice", "")).strip(),
            keywords=keywords, hints=_strings(entry.get("hints")), phrasings=_strings(entry.get("phrasings")),
            basis=_strings(entry.get("basis")), issuer=str(entry.get("issuer", "") or "").strip(), layer=layer,
            reason=str(entry.get("reason", "") or "").strip(),
            certificate_role=str(entry.get("certificate_role", "") or "").strip(),
            **_resident_fields(entry.get("resident")),
        )
        if raw.items[item_id].certificate_role not in CERTIFICATE_ROLES:
            reader.problem(path, line, K.BAD_CERTIFICATE_ROLE.format(item_id=item_id, roles="/".join(CERTIFICATE_ROLES[1:])))
        reader.basis_refs.extend((path, line, item_id, key) for key in raw.items[item_id].basis)
        reader.item_sites[item_id] = (path, line)


class _ResidentFields(TypedDict, total=False):
    resident_where: str
    resident_bring: str


def _resident_fields(value: Any) -> _ResidentFields:
    """`resident: {where: …, bring: …}` of an item: what a resident asking about it is told."""
    if not isinstance(value, dict):
        return {}
    return {"resident_where": str(value.get("where", "") or "").strip(),
            "resident_bring": str(value.get("bring", "") or "").strip()}


def read_knowledge(root: Path | None = None, profile: str = "taicang", agreement: str | None = "demo", *,
                   with_corpus: bool = True) -> RawKnowledge:
    """Read every layer; problems are collected, not raised, so `kb validate` can show them all.

    with_corpus=False: the lists and vocabularies only, for a caller that needs no model (item titles): the corpus
    is most of the reading time (1.5 s of 1.6).
    """
    root = Path(root) if root else bundled_data_dir()
    reader = _Reader(root)
    raw = RawKnowledge()

    statutes = reader.load(root / "national" / "statutes.yaml")
    for entry in statutes.get("statutes") or []:
        key = str(entry.get("key", "")).strip()
        if not key:
            reader.problem(root / "national" / "statutes.yaml", entry.get("__line__", 0), K.STATUTE_WITHOUT_KEY)
            continue
        if key in raw.statutes:
            reader.problem(root / "national" / "statutes.yaml", entry.get("__line__", 0), K.STATUTE_DUPLICATE.format(key=key))
        raw.statutes[key] = entry

    _read_items(reader, root / "national" / "certificates.yaml", "certificate", "national", raw)
    profile_dir = root / "profiles" / profile
    raw.profile = reader.load(profile_dir / "profile.yaml")
    for filename, kind in PROFILE_FILES.items():
        _read_items(reader, profile_dir / filename, kind, f"profile:{profile}", raw)

    for kind, (prefix, highest) in ID_PATTERN.items():
        absent = [f"{prefix}{n}" for n in range(1, highest + 1) if f"{prefix}{n}" not in raw.items]
        if absent and len(absent) < highest:
            reader.problem(reader.list_files.get(kind, root), 1,
                           K.ITEMS_MISSING.format(label=LIST_LABEL[kind], ids=K.JOIN.join(absent)))

    for path, line, item_id, key in reader.basis_refs:
        if key not in raw.statutes:
            reader.problem(path, line, K.UNKNOWN_BASIS.format(item_id=item_id, key=key))

    if agreement:
        _apply_agreement(reader, root / "agreements" / f"{agreement}.yaml", raw)
    _read_synonyms(reader, root / "synonyms.yaml", raw)
    _read_departments(reader, root / "departments.yaml", raw)
    _read_evaluation(reader, root / "evaluation.yaml", raw)
    _check_letters(reader, root / "letters.yaml", raw)
    _read_cues(reader, root / "cues.yaml", raw)
    _read_dialect(reader, root / "dialect.yaml", raw)
    _read_reading(reader, root / "reading.yaml", raw)
    if with_corpus:
        _read_corpus(reader, root, raw)
    _check_keyword_conflicts(reader, root, raw)
    raw.problems = reader.problems
    return raw


def _apply_agreement(reader: _Reader, path: Path, raw: RawKnowledge) -> None:
    data = reader.load(path)
    raw.agreement = data
    for line, message in agreement_problems(data):  # its evaluation terms: fees, weights, the payment rule
        reader.problem(path, line, message)
    for item_id, terms in (data.get("items") or {}).items():
        if item_id == "__line__":
            continue
        line = terms.get("__line__", data.get("__line__", 0)) if isinstance(terms, dict) else data.get("__line__", 0)
        item = raw.items.get(str(item_id))
        if item is None:
            reader.problem(path, line, K.AGREEMENT_UNKNOWN_ID.format(item_id=item_id))
            continue
        if item.list != "assist":
            reader.problem(path, line, K.AGREEMENT_NOT_ASSIST.format(item_id=item_id))
            continue
        terms = terms if isinstance(terms, dict) else {"enabled": bool(terms)}
        raw.items[item.id] = replace(
            item, enabled=bool(terms.get("enabled", True)), fee=str(terms.get("fee", "") or ""),
            period=str(terms.get("period", data.get("period", "")) or ""), department=str(terms.get("department", "") or ""),
        )


def _read_evaluation(reader: _Reader, path: Path, raw: RawKnowledge) -> None:
    raw.evaluation = reader.load(path)
    for line, message in scheme_problems(raw.evaluation):
        reader.problem(path, line, message)


def _check_letters(reader: _Reader, path: Path, raw: RawKnowledge) -> None:
    """The reply-letter templates (knowledge.letters) load, and cite only statutes the knowledge base has."""
    from knowledge.letters import LetterTemplateError, load_letter_templates, unknown_basis

    if not path.is_file():
        return  # a knowledge directory without its own templates uses the bundled ones
    try:
        templates = load_letter_templates(path)
    except LetterTemplateError as error:
        reader.problem(path, 0, str(error))
        return
    for message in unknown_basis(templates, set(raw.statutes)):
        reader.problem(path, 0, message)


def _read_synonyms(reader: _Reader, path: Path, raw: RawKnowledge) -> None:
    data = reader.load(path)
    canonicals = {str(g.get("canonical", "")).strip() for g in data.get("groups") or [] if isinstance(g, dict)}
    for group in data.get("groups") or []:
        line = group.get("__line__", 0)
        canonical = str(group.get("canonical", "")).strip()
        if not canonical:
            reader.problem(path, line, K.SYNONYM_NO_CANONICAL)
            continue
        for variant in _strings(group.get("variants")):
            if variant == canonical:
                continue
            if variant in canonicals:
                reader.problem(path, line, K.SYNONYM_IS_CANONICAL.format(variant=variant, canonical=canonical))
            elif raw.synonyms.get(variant, canonical) != canonical:
                reader.problem(path, line, K.SYNONYM_TWO_GROUPS.format(variant=variant, first=raw.synonyms[variant], second=canonical))
            else:
                raw.synonyms[variant] = canonical


def _read_departments(reader: _Reader, path: Path, raw: RawKnowledge) -> None:
    data = reader.load(path)
    _read_groups(reader, path, data.get("departments"), "name", "aliases", raw.departments,
                 K.DEPARTMENT_NO_NAME, K.ALIAS_TWO_DEPARTMENTS, include_name=True)


def _read_groups(reader: _Reader, path: Path, groups: Any, name_key: str, words_key: str, target: dict[str, str],
                 no_name: str, two_groups: str, include_name: bool = False) -> None:
    """Groups of words that each stand for one name (a department's aliases, a Mandarin word's dialect forms)."""
    for group in groups or []:
        line = group.get("__line__", 0) if isinstance(group, dict) else 0
        name = str(group.get(name_key, "")).strip() if isinstance(group, dict) else ""
        if not name:
            reader.problem(path, line, no_name)
            continue
        for word in ((name,) if include_name else ()) + _strings(group.get(words_key)):
            if target.get(word, name) != name:
                reader.problem(path, line, two_groups.format(word=word, first=target[word], second=name))
            target.setdefault(word, name)


def _read_cues(reader: _Reader, path: Path, raw: RawKnowledge) -> None:
    data = reader.load(path)
    roles = data.get("forbidden_roles") or {}
    for word, item_id in roles.items():
        if word == "__line__":
            continue
        item = raw.items.get(str(item_id))
        if item is None or item.list != "restricted":
            reader.problem(path, roles.get("__line__", 0), K.ROLE_NOT_RESTRICTED.format(word=word, item_id=item_id))
            continue
        raw.forbidden_roles.append((str(word), item.id))
    for key in ("disclaimers", "self_initiative"):
        raw.cues[key] = list(_strings(data.get(key)))
    for group in data.get("out_roles") or []:
        line = group.get("__line__", 0) if isinstance(group, dict) else data.get("__line__", 0)
        reason, words = (str(group.get("reason", "")).strip(), _strings(group.get("words"))) if isinstance(group, dict) else ("", ())
        if not reason or not words:
            reader.problem(path, line, K.OUT_ROLE_SHAPE)
            continue
        for value in words:
            _check_pattern(reader, path, line, "out_roles", value)
        raw.out_roles.append((reason, words))
    for key in ("negations", "assist_roles"):
        values = _strings(data.get(key))
        if not values:
            reader.problem(path, data.get("__line__", 0), K.CUES_MISSING.format(key=key))
        for value in values:
            _check_pattern(reader, path, data.get("__line__", 0), key, value)
        raw.cues[key] = list(values)


def _check_pattern(reader: _Reader, path: Path, line: int, key: str, value: str) -> None:
    if value.startswith("re:"):
        try:
            re.compile(value[3:])
        except re.error as exc:
            reader.problem(path, line, K.BAD_PATTERN.format(key=key, value=value, error=exc))


def _read_dialect(reader: _Reader, path: Path, raw: RawKnowledge) -> None:
    data = reader.load(path)
    _read_groups(reader, path, data.get("groups"), "mandarin", "dialect", raw.dialect,
                 K.DIALECT_NO_MANDARIN, K.DIALECT_TWO_GROUPS)


def _read_reading(reader: _Reader, path: Path, raw: RawKnowledge) -> None:
    data = reader.load(path)
    askers = data.get("askers") or {}
    for kind in ("government", "commercial", "resident"):
        raw.askers[kind] = list(_strings(askers.get(kind)))
        if not raw.askers[kind]:
            reader.problem(path, askers.get("__line__", data.get("__line__", 0)), K.ASKERS_MISSING.format(kind=kind))
    raw.surnames = str(data.get("surnames", "") or "").strip()


def _record_problems(record: CorpusRecord, known_ids: set[str]) -> list[str]:
    """What is wrong with one labelled request, in words a data editor can act on."""
    problems = []
    if not record.text.strip():
        problems.append(K.CORPUS_EMPTY)
    prefix = VERDICT_LIST_PREFIX.get(record.verdict)
    if record.verdict not in (*VERDICT_LIST_PREFIX, "unlisted", *NO_ITEM_VERDICTS):
        problems.append(K.CORPUS_VERDICT.format(verdict=record.verdict))
    unknown = [i for i in (*record.ids, *record.forbidden) if i not in known_ids]
    if unknown:
        problems.append(K.CORPUS_UNKNOWN_IDS.format(ids=K.JOIN.join(map(str, unknown))))
    if prefix and (not record.ids or not record.ids[0].startswith(prefix)):
        problems.append(K.CORPUS_FIRST_ID.format(verdict=record.verdict, prefix=prefix))
    if record.verdict in NO_ITEM_VERDICTS and record.ids:
        problems.append(K.CORPUS_NO_IDS.format(verdict=record.verdict))
    if record.forbidden and record.ids[:len(record.forbidden)] != record.forbidden:
        problems.append(K.CORPUS_FORBIDDEN_FIRST)
    if record.category not in CATEGORIES:
        problems.append(K.CORPUS_CATEGORY.format(category=record.category, categories="/".join(CATEGORIES)))
    return problems


def _read_corpus(reader: _Reader, root: Path, raw: RawKnowledge) -> None:
    """Every writer's labelled requests, each checked against the lists (file and record number on error)."""
    known = set(raw.items)
    seen: dict[str, tuple[Path, int]] = {}
    for path in corpus_files(root):
        try:
            records, malformed = read_corpus_file(path, _LineLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            reader.problem(path, 0, K.YAML_ERROR.format(problem=exc))
            continue
        for line, problem in malformed:
            reader.problem(path, line, problem)
        for line, record in records:
            for problem in _record_problems(record, known):
                reader.problem(path, line, problem)
            if record.text in seen and seen[record.text][0] == path:
                reader.problem(path, line, K.CORPUS_DUPLICATE.format(first=seen[record.text][1]))
            seen.setdefault(record.text, (path, line))
        raw.corpus.extend(record for _, record in records)


def _check_keyword_conflicts(reader: _Reader, root: Path, raw: RawKnowledge) -> None:
    """A keyword that points at items of different lists would make the answer contradict itself."""
    owners: dict[str, set[str]] = {}
    for item in raw.items.values():
        for keyword in item.keywords:
            owners.setdefault(raw.synonyms.get(keyword, keyword), set()).add(item.id)
    for keyword, ids in sorted(owners.items()):
        kinds = {raw.items[i].list for i in ids}
        if len(kinds) > 1:
            listed = K.JOIN.join(f"{i}（{LIST_LABEL[raw.items[i].list]}）" for i in sorted(ids))
            for item_id in sorted(ids):  # point at every place the keyword is written
                path, line = reader.item_sites.get(item_id, (root, 0))
                reader.problem(path, line, K.KEYWORD_CONFLICT.format(item_id=item_id, keyword=keyword, listed=listed))


def validate(root: Path | None = None, profile: str = "taicang", agreement: str | None = "demo") -> list[Problem]:
    return read_knowledge(root, profile, agreement).problems


__all__ = ["LIST_KINDS", "KnowledgeBaseError", "Problem", "RawKnowledge", "read_knowledge", "validate", "bundled_data_dir",
           "profile_names", "agreement_names"]
