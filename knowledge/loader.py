"""Reads the layered YAML files into items and vocabularies, and reports every problem with file and line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from knowledge.model import LIST_KINDS, Item, Source

PROVENANCE_TAGS = ("原文", "摘要", "推断", "SEED")
ID_PATTERN = {"duty": ("A", 10), "assist": ("B", 27), "restricted": ("C", 27), "certificate": ("P", 20)}
LIST_LABEL = {"duty": "依法履职事项", "assist": "协助政府工作事项", "restricted": "限制/负面事项", "certificate": "不应出具的证明"}
PROFILE_FILES = {"duties.yaml": "duty", "assist.yaml": "assist", "restricted.yaml": "restricted"}


def bundled_data_dir() -> Path:
    return Path(str(resources.files("knowledge") / "data"))


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
    profile: dict = field(default_factory=dict)
    agreement: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class _Reader:
    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []
        self.basis_refs: list[tuple[Path, int, str, str]] = []  # checked once statutes are known

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
                self.problem(path, 0, "找不到这个文件。请检查文件名，或在配置里选择存在的方案/协议。")
            return {}
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 (SafeLoader subclass)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 0
            self.problem(path, line, f"YAML 格式错误：{getattr(exc, 'problem', exc)}。请检查缩进、冒号和引号。")
            return {}
        except UnicodeDecodeError:
            self.problem(path, 0, "文件不是 UTF-8 编码。请用 UTF-8 保存。")
            return {}
        if not isinstance(data, dict):
            self.problem(path, 1, "文件内容应当是“键: 值”的结构。")
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
    if kind != expected:
        reader.problem(path, data.get("__line__", 1), f"list 应为 {expected}（{LIST_LABEL[expected]}），现在是 {kind!r}。")
        return
    prefix, highest = ID_PATTERN[expected]
    for entry in data.get("items") or []:
        line = entry.get("__line__", 0) if isinstance(entry, dict) else 0
        if not isinstance(entry, dict):
            reader.problem(path, line, "每个事项应当是一组“键: 值”。")
            continue
        item_id = str(entry.get("id", "")).strip()
        match = re.fullmatch(rf"{prefix}(\d+)", item_id)
        if not match or not 1 <= int(match.group(1)) <= highest:
            reader.problem(path, line, f"未知的事项编号 {item_id!r}：{LIST_LABEL[expected]}的编号应为 {prefix}1–{prefix}{highest}。")
            continue
        if item_id in raw.items:
            reader.problem(path, line, f"事项编号 {item_id} 重复出现。每个编号只能出现一次。")
            continue
        missing = [key for key in ("title", "text", "advice") if not str(entry.get(key, "") or "").strip()]
        if missing:
            reader.problem(path, line, f"{item_id} 缺少 {'、'.join(missing)}。")
        provenance = str(entry.get("provenance", "")).strip().strip("[]")
        if provenance not in PROVENANCE_TAGS:
            reader.problem(path, line, f"{item_id} 的 provenance 应为 {'/'.join(PROVENANCE_TAGS)} 之一，现在是 {provenance!r}。")
        sources = []
        for src in entry.get("sources") or []:
            if isinstance(src, dict) and str(src.get("doc", "")).strip():
                sources.append(Source(doc=str(src["doc"]).strip(), ref=str(src.get("ref", "") or ""),
                                      article=str(src.get("article", "") or ""), date=str(src.get("date", "") or "")))
            else:
                reader.problem(path, src.get("__line__", line) if isinstance(src, dict) else line,
                               f"{item_id} 的来源缺少 doc（文件名称）。")
        if not sources:
            reader.problem(path, line, f"{item_id} 没有来源（sources）。每个事项至少写明一个来源文件。")
        keywords = _strings(entry.get("keywords"))
        if not keywords:
            reader.problem(path, line, f"{item_id} 没有关键词（keywords），将无法被匹配。")
        raw.items[item_id] = Item(
            id=item_id, list=expected, title=str(entry.get("title", "")).strip(), text=str(entry.get("text", "")).strip(),
            provenance=provenance, sources=tuple(sources), advice=str(entry.get("advice", "")).strip(),
            keywords=keywords, hints=_strings(entry.get("hints")), phrasings=_strings(entry.get("phrasings")),
            basis=_strings(entry.get("basis")), issuer=str(entry.get("issuer", "") or "").strip(), layer=layer,
        )
        reader.basis_refs.extend((path, line, item_id, key) for key in raw.items[item_id].basis)


def read_knowledge(root: Path | None = None, profile: str = "taicang", agreement: str | None = "demo") -> RawKnowledge:
    """Read every layer; problems are collected, not raised, so `kb validate` can show them all."""
    root = Path(root) if root else bundled_data_dir()
    reader = _Reader(root)
    raw = RawKnowledge()

    statutes = reader.load(root / "national" / "statutes.yaml")
    for entry in statutes.get("statutes") or []:
        key = str(entry.get("key", "")).strip()
        if not key:
            reader.problem(root / "national" / "statutes.yaml", entry.get("__line__", 0), "法规条目缺少 key。")
            continue
        if key in raw.statutes:
            reader.problem(root / "national" / "statutes.yaml", entry.get("__line__", 0), f"法规 key {key!r} 重复。")
        raw.statutes[key] = entry

    _read_items(reader, root / "national" / "certificates.yaml", "certificate", "national", raw)
    profile_dir = root / "profiles" / profile
    raw.profile = reader.load(profile_dir / "profile.yaml")
    for filename, kind in PROFILE_FILES.items():
        _read_items(reader, profile_dir / filename, kind, f"profile:{profile}", raw)

    for kind, (prefix, highest) in ID_PATTERN.items():
        absent = [f"{prefix}{n}" for n in range(1, highest + 1) if f"{prefix}{n}" not in raw.items]
        if absent and len(absent) < highest:
            reader.problem(root, 0, f"{LIST_LABEL[kind]}缺少事项：{'、'.join(absent)}。编号是固定的，请补上。")

    for path, line, item_id, key in reader.basis_refs:
        if key not in raw.statutes:
            reader.problem(path, line, f"{item_id} 引用的法规依据 {key!r} 在 national/statutes.yaml 里找不到。")

    if agreement:
        _apply_agreement(reader, root / "agreements" / f"{agreement}.yaml", raw)
    _read_synonyms(reader, root / "synonyms.yaml", raw)
    _read_departments(reader, root / "departments.yaml", raw)
    _read_cues(reader, root / "cues.yaml", raw)
    _check_keyword_conflicts(reader, root, raw)
    raw.problems = reader.problems
    return raw


def _apply_agreement(reader: _Reader, path: Path, raw: RawKnowledge) -> None:
    data = reader.load(path)
    raw.agreement = data
    for item_id, terms in (data.get("items") or {}).items():
        if item_id == "__line__":
            continue
        line = terms.get("__line__", data.get("__line__", 0)) if isinstance(terms, dict) else data.get("__line__", 0)
        item = raw.items.get(str(item_id))
        if item is None:
            reader.problem(path, line, f"协议书里的 {item_id} 不是已知的事项编号。")
            continue
        if item.list != "assist":
            reader.problem(path, line, f"协议书只能约定协助政府工作事项（B 开头），{item_id} 不是。")
            continue
        terms = terms if isinstance(terms, dict) else {"enabled": bool(terms)}
        raw.items[item.id] = replace(
            item, enabled=bool(terms.get("enabled", True)), fee=str(terms.get("fee", "") or ""),
            period=str(terms.get("period", data.get("period", "")) or ""), department=str(terms.get("department", "") or ""),
        )


def _read_synonyms(reader: _Reader, path: Path, raw: RawKnowledge) -> None:
    data = reader.load(path)
    canonicals = {str(g.get("canonical", "")).strip() for g in data.get("groups") or [] if isinstance(g, dict)}
    for group in data.get("groups") or []:
        line = group.get("__line__", 0)
        canonical = str(group.get("canonical", "")).strip()
        if not canonical:
            reader.problem(path, line, "同义词组缺少 canonical（标准说法）。")
            continue
        for variant in _strings(group.get("variants")):
            if variant == canonical:
                continue
            if variant in canonicals:
                reader.problem(path, line, f"「{variant}」既是一个标准说法，又被写成「{canonical}」的变体。请只保留一处。")
            elif raw.synonyms.get(variant, canonical) != canonical:
                reader.problem(path, line, f"「{variant}」同时是「{raw.synonyms[variant]}」和「{canonical}」的变体。请只保留一处。")
            else:
                raw.synonyms[variant] = canonical


def _read_departments(reader: _Reader, path: Path, raw: RawKnowledge) -> None:
    data = reader.load(path)
    for entry in data.get("departments") or []:
        line = entry.get("__line__", 0)
        name = str(entry.get("name", "")).strip()
        if not name:
            reader.problem(path, line, "部门缺少 name。")
            continue
        for alias in (name, *_strings(entry.get("aliases"))):
            if raw.departments.get(alias, name) != name:
                reader.problem(path, line, f"简称「{alias}」同时属于「{raw.departments[alias]}」和「{name}」。请只保留一处。")
            raw.departments.setdefault(alias, name)


def _read_cues(reader: _Reader, path: Path, raw: RawKnowledge) -> None:
    data = reader.load(path)
    roles = data.get("forbidden_roles") or {}
    raw.cues["forbidden_roles"] = []
    for word, item_id in roles.items():
        if word == "__line__":
            continue
        item = raw.items.get(str(item_id))
        if item is None or item.list != "restricted":
            reader.problem(path, roles.get("__line__", 0), f"forbidden_roles 里「{word}」对应的 {item_id} 不是限制事项（C 开头）。")
            continue
        raw.cues["forbidden_roles"].append((str(word), item.id))
    for key in ("question_cues", "disclaimers", "vague_words"):
        raw.cues[key] = list(_strings(data.get(key)))
    for key in ("negations", "assist_roles", "out_roles", "task_cues", "certificate_words", "chitchat"):
        values = _strings(data.get(key))
        if not values:
            reader.problem(path, data.get("__line__", 0), f"cues.yaml 缺少 {key}。")
        for value in values:
            if value.startswith("re:"):
                try:
                    re.compile(value[3:])
                except re.error as exc:
                    reader.problem(path, data.get("__line__", 0), f"{key} 里的正则 {value!r} 写错了：{exc}")
        raw.cues[key] = list(values)


def _check_keyword_conflicts(reader: _Reader, root: Path, raw: RawKnowledge) -> None:
    """A keyword that points at items of different lists would make the answer contradict itself."""
    owners: dict[str, set[str]] = {}
    for item in raw.items.values():
        for keyword in item.keywords:
            owners.setdefault(raw.synonyms.get(keyword, keyword), set()).add(item.id)
    for keyword, ids in sorted(owners.items()):
        kinds = {raw.items[i].list for i in ids}
        if len(kinds) > 1:
            listed = "、".join(f"{i}（{LIST_LABEL[raw.items[i].list]}）" for i in sorted(ids))
            reader.problem(root, 0, f"关键词「{keyword}」同时指向 {listed}，会让判断自相矛盾。"
                                    "请只留在一个事项里，其他事项改放到 hints。")


def validate(root: Path | None = None, profile: str = "taicang", agreement: str | None = "demo") -> list[Problem]:
    return read_knowledge(root, profile, agreement).problems


__all__ = ["LIST_KINDS", "KnowledgeBaseError", "Problem", "RawKnowledge", "read_knowledge", "validate", "bundled_data_dir"]
