"""Towns (镇/街道) and villages (村/社区): look-up, creation and import from a YAML or CSV file.

YAML:
    towns:
      - code: DEMO
        name: 示范镇
        villages:
          - {code: DEMO01, name: 东湖村}

CSV (UTF-8, BOM allowed), one row per village; a row without village columns adds only the town:
    town_code,town_name,village_code,village_name
    DEMO,示范镇,DEMO01,东湖村
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.audit import log_action
from storage.errors import AlreadyExists, InvalidInput, NotFound
from storage.models import CODE_MAX, Member, Town, Village

# Upper-case letters, digits, '_' and '-': usable as-is in a t.me deep link (s_<villagecode>).
CODE_RE = re.compile(rf"^[A-Z0-9][A-Z0-9_-]{{0,{CODE_MAX - 1}}}$")
NAME_MAX = 100


def normalize_code(code: str) -> str:
    """Strip and upper-case a place code; raise InvalidInput if it is not [A-Z0-9_-], 1-32 chars."""
    value = (code or "").strip().upper()
    if not CODE_RE.match(value):
        raise InvalidInput(f"代码无效: {code!r}（只能用字母、数字、_ 和 -，最多 {CODE_MAX} 个字符）")
    return value


def _name(name: str) -> str:
    value = (name or "").strip()
    if not value or len(value) > NAME_MAX:
        raise InvalidInput(f"名称无效: {name!r}（1 到 {NAME_MAX} 个字符）")
    return value


def get_town(session: Session, code: str) -> Town | None:
    try:
        code = normalize_code(code)
    except InvalidInput:
        return None
    return session.scalar(select(Town).where(Town.code == code))


def get_village(session: Session, code: str) -> Village | None:
    try:
        code = normalize_code(code)
    except InvalidInput:
        return None
    return session.scalar(select(Village).where(Village.code == code))


def require_town(session: Session, code: str) -> Town:
    town = get_town(session, code)
    if town is None:
        raise NotFound("town", code)
    return town


def require_village(session: Session, code: str) -> Village:
    village = get_village(session, code)
    if village is None:
        raise NotFound("village", code)
    return village


def list_towns(session: Session) -> list[Town]:
    return list(session.scalars(select(Town).order_by(Town.code)))


def list_towns_with_villages(session: Session) -> list[Town]:
    """The towns that have at least one village (what a resident can choose from), by code."""
    has_village = select(Village.id).where(Village.town_id == Town.id).exists()
    return list(session.scalars(select(Town).where(has_village).order_by(Town.code)))


def list_villages(session: Session, town_code: str | None = None) -> list[Village]:
    query = select(Village).order_by(Village.code)
    if town_code is not None:
        query = query.where(Village.town_id == require_town(session, town_code).id)
    return list(session.scalars(query))


def add_town(session: Session, code: str, name: str, *, actor: str | Member | int | None = "cli") -> Town:
    """Create a town; AlreadyExists if the code is taken."""
    code, name = normalize_code(code), _name(name)
    if get_town(session, code) is not None:
        raise AlreadyExists("town", code)
    town = Town(code=code, name=name)
    session.add(town)
    _flush_unique(session, "town", code)
    log_action(session, actor, "add_town", {"code": code, "name": name})
    return town


def add_village(
    session: Session, code: str, name: str, town_code: str, *, actor: str | Member | int | None = "cli"
) -> Village:
    """Create a village in an existing town; AlreadyExists if the code is taken, NotFound for the town."""
    code, name = normalize_code(code), _name(name)
    town = require_town(session, town_code)
    if get_village(session, code) is not None:
        raise AlreadyExists("village", code)
    village = Village(code=code, name=name, town=town)
    session.add(village)
    _flush_unique(session, "village", code)
    log_action(session, actor, "add_village", {"code": code, "name": name, "town": town.code})
    return village


def upsert_town(session: Session, code: str, name: str) -> tuple[Town, str]:
    """Create or rename a town. Returns (town, 'created' | 'updated' | 'unchanged')."""
    code, name = normalize_code(code), _name(name)
    town = get_town(session, code)
    if town is None:
        town = Town(code=code, name=name)
        session.add(town)
        _flush_unique(session, "town", code)
        return town, "created"
    if town.name != name:
        town.name = name
        session.flush()
        return town, "updated"
    return town, "unchanged"


def upsert_village(session: Session, code: str, name: str, town_code: str) -> tuple[Village, str]:
    """Create a village, or rename / move it to `town_code`. Returns (village, 'created' | 'updated' | 'unchanged')."""
    code, name = normalize_code(code), _name(name)
    town = require_town(session, town_code)
    village = get_village(session, code)
    if village is None:
        village = Village(code=code, name=name, town=town)
        session.add(village)
        _flush_unique(session, "village", code)
        return village, "created"
    if village.name != name or village.town_id != town.id:
        village.name = name
        village.town = town
        session.flush()
        return village, "updated"
    return village, "unchanged"


def _flush_unique(session: Session, kind: str, code: str) -> None:
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent writer took the code
        raise AlreadyExists(kind, code) from error


# ---------------------------------------------------------------------------------------------- import


@dataclass(frozen=True)
class PlaceRow:
    """One town, optionally with one of its villages."""

    town_code: str
    town_name: str
    village_code: str | None = None
    village_name: str | None = None


@dataclass
class ImportReport:
    towns_created: int = 0
    towns_updated: int = 0
    villages_created: int = 0
    villages_updated: int = 0
    unchanged: int = 0


def read_places_file(path: str | Path) -> list[PlaceRow]:
    """Read a YAML (.yaml/.yml) or CSV (.csv) places file; InvalidInput on a malformed file."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"文件不存在: {path}")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _rows_from_yaml(path)
    if suffix == ".csv":
        return _rows_from_csv(path)
    raise InvalidInput(f"不支持的文件类型: {path.name}（请用 .yaml、.yml 或 .csv）")


def _rows_from_yaml(path: Path) -> list[PlaceRow]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{path.name}: YAML 无法解析: {error}") from error
    towns: Any = data.get("towns") if isinstance(data, dict) else data
    if not isinstance(towns, list):
        raise InvalidInput(f"{path.name}: 需要一个 towns 列表")
    rows: list[PlaceRow] = []
    for i, town in enumerate(towns, 1):
        if not isinstance(town, dict) or "code" not in town or "name" not in town:
            raise InvalidInput(f"{path.name}: 第 {i} 个镇/街道缺少 code 或 name")
        t_code, t_name = str(town["code"]), str(town["name"])
        villages = town.get("villages") or []
        if not isinstance(villages, list):
            raise InvalidInput(f"{path.name}: {t_code} 的 villages 必须是列表")
        rows.append(PlaceRow(t_code, t_name))
        for j, village in enumerate(villages, 1):
            if not isinstance(village, dict) or "code" not in village or "name" not in village:
                raise InvalidInput(f"{path.name}: {t_code} 的第 {j} 个村/社区缺少 code 或 name")
            rows.append(PlaceRow(t_code, t_name, str(village["code"]), str(village["name"])))
    return rows


CSV_COLUMNS = ("town_code", "town_name", "village_code", "village_name")


def _rows_from_csv(path: Path) -> list[PlaceRow]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            if not {"town_code", "town_name"} <= set(header):
                raise InvalidInput(f"{path.name}: 表头需要 {', '.join(CSV_COLUMNS)}")
            rows = []
            for line, raw in enumerate(reader, 2):
                rec = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
                if not any(rec.values()):
                    continue
                if not rec.get("town_code") or not rec.get("town_name"):
                    raise InvalidInput(f"{path.name} 第 {line} 行: 缺少 town_code 或 town_name")
                v_code, v_name = rec.get("village_code") or None, rec.get("village_name") or None
                if bool(v_code) != bool(v_name):
                    raise InvalidInput(f"{path.name} 第 {line} 行: village_code 与 village_name 须同时填写")
                rows.append(PlaceRow(rec["town_code"], rec["town_name"], v_code, v_name))
            return rows
    except UnicodeDecodeError as error:
        raise InvalidInput(f"{path.name}: 请用 UTF-8 编码保存") from error


def import_places(
    session: Session, source: str | Path | Iterable[PlaceRow], *, actor: str | Member | int | None = "cli"
) -> ImportReport:
    """Create or update the towns and villages of a file (path) or of rows. Idempotent."""
    rows = read_places_file(source) if isinstance(source, (str, Path)) else list(source)
    report = ImportReport()
    seen_towns: set[str] = set()
    for row in rows:
        code = normalize_code(row.town_code)
        if code not in seen_towns:
            seen_towns.add(code)
            _, outcome = upsert_town(session, code, row.town_name)
            _count(report, "towns", outcome)
        if row.village_code:
            _, outcome = upsert_village(session, row.village_code, row.village_name or "", code)
            _count(report, "villages", outcome)
    log_action(
        session,
        actor,
        "import_places",
        {
            "source": str(source) if isinstance(source, (str, Path)) else "rows",
            "towns_created": report.towns_created,
            "villages_created": report.villages_created,
            "towns_updated": report.towns_updated,
            "villages_updated": report.villages_updated,
        },
    )
    return report


def _count(report: ImportReport, kind: str, outcome: str) -> None:
    if outcome == "unchanged":
        report.unchanged += 1
    else:
        attr = f"{kind}_{outcome}"
        setattr(report, attr, getattr(report, attr) + 1)


__all__ = [
    "CODE_RE",
    "ImportReport",
    "PlaceRow",
    "add_town",
    "add_village",
    "get_town",
    "get_village",
    "import_places",
    "list_towns",
    "list_towns_with_villages",
    "list_villages",
    "normalize_code",
    "read_places_file",
    "require_town",
    "require_village",
    "upsert_town",
    "upsert_village",
]
