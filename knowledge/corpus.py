"""The labelled requests the model learns from: one YAML file per independent writer under data/corpus/.

Every record keeps who wrote it, so accuracy can be measured on a writer the model never saw
(bench/accuracy.py --leave-one-writer-out).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.model import Verdict

CATEGORIES = ("item", "unlisted", "chitchat", "adversarial", "mixed", "long", "unclear")
VERDICT_LIST_PREFIX: dict[str, str] = {"duty": "A", "assist": "B", "restricted": "C", "certificate_refused": "P"}
NO_ITEM_VERDICTS = frozenset({"chitchat", "unclear"})

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class CorpusRecord:
    text: str
    verdict: Verdict
    ids: tuple[str, ...]  # best first; for a mixed request the forbidden ones first
    forbidden: tuple[str, ...]
    category: str
    style: str
    dialect: str
    writer: str

    @property
    def label(self) -> str:
        """The class the item model learns: the deciding item, or the verdict where no item decides."""
        if self.ids and self.verdict not in ("unlisted",):
            return self.ids[0]
        return f"_{self.verdict}"


def corpus_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "corpus").glob("*.yaml"))


def read_corpus_file(path: Path, loader: type = _Loader) -> tuple[list[tuple[int, CorpusRecord]], list[tuple[int, str]]]:
    """(line, record) for each record of one writer's file, and (line, problem) for each malformed one.

    Lines are known when `loader` records them as `__line__` (the knowledge loader's does); else the number.
    """
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
    writer = str(document.get("writer", path.stem))
    records, problems = [], []
    for number, entry in enumerate(document.get("records") or (), 1):
        line = entry.get("__line__", number) if isinstance(entry, dict) else number
        try:
            records.append((line, CorpusRecord(
                text=str(entry["text"]), verdict=entry["verdict"], ids=tuple(entry.get("ids") or ()),
                forbidden=tuple(entry.get("forbidden") or ()), category=str(entry.get("category", "item")),
                style=str(entry.get("style", "")), dialect=str(entry.get("dialect", "none")),
                writer=str(entry.get("writer", writer)),
            )))
        except (KeyError, TypeError, AttributeError) as exc:
            problems.append((line, f"{type(exc).__name__}: {exc}"))
    return records, problems
