"""Typed records of the knowledge base and of a check's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ListKind = Literal["duty", "assist", "restricted", "certificate"]
Verdict = Literal["duty", "assist", "restricted", "certificate_refused", "unlisted", "unclear", "chitchat"]

LIST_KINDS: tuple[ListKind, ...] = ("duty", "assist", "restricted", "certificate")
VERDICTS: tuple[Verdict, ...] = (
    "duty", "assist", "restricted", "certificate_refused", "unlisted", "unclear", "chitchat",
)
# Which verdict an item of each list leads to.
VERDICT_OF_LIST: dict[ListKind, Verdict] = {
    "duty": "duty",
    "assist": "assist",
    "restricted": "restricted",
    "certificate": "certificate_refused",
}
FORBIDDEN_VERDICTS: frozenset[str] = frozenset({"restricted", "certificate_refused", "unlisted"})


@dataclass(frozen=True)
class Source:
    doc: str
    ref: str = ""
    article: str = ""
    date: str = ""


@dataclass(frozen=True)
class Item:
    """One entry of one list, under its canonical ID (A1, B6, C20, P10 ...)."""

    id: str
    list: ListKind
    title: str
    text: str
    provenance: str
    sources: tuple[Source, ...]
    advice: str
    keywords: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    phrasings: tuple[str, ...] = ()
    basis: tuple[str, ...] = ()
    issuer: str = ""
    layer: str = ""
    # Set from the town's agreement file (B items only).
    enabled: bool = True
    fee: str = ""
    period: str = ""
    department: str = ""


@dataclass(frozen=True)
class Match:
    id: str
    list: ListKind
    title: str
    score: float
    matched: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"id": self.id, "list": self.list, "title": self.title, "score": round(self.score, 2)}


@dataclass(frozen=True)
class CheckResult:
    """What a check tells the cadre: verdict first, then the items and the reply text."""

    verdict: Verdict
    matches: tuple[Match, ...]
    reply: str
    department: str | None = None
    # For a mixed request: the allowed part that was also found.
    allowed_part: Match | None = None
    problem: str | None = None  # bad input kind (empty, too_long, no_text ...) when the text was not checked
    extras: dict = field(default_factory=dict)

    @property
    def in_agreement(self) -> bool | None:
        if self.verdict in ("duty", "assist"):
            return True
        if self.verdict in FORBIDDEN_VERDICTS:
            return False
        return None

    @property
    def top(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def to_json(self) -> dict:
        return {
            "verdict": self.verdict,
            "in_agreement": self.in_agreement,
            "matches": [m.to_json() for m in self.matches[:3]],
            "reply": self.reply,
        }
