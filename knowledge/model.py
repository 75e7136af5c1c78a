"""Typed records of the knowledge base and of a check's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ListKind(StrEnum):
    DUTY = "duty"
    ASSIST = "assist"
    RESTRICTED = "restricted"
    CERTIFICATE = "certificate"


class Verdict(StrEnum):
    """What the check tells the cadre. Equal to its value, so JSON and the database keep the plain word."""

    DUTY = "duty"
    ASSIST = "assist"
    RESTRICTED = "restricted"
    CERTIFICATE_REFUSED = "certificate_refused"
    UNLISTED = "unlisted"
    UNCLEAR = "unclear"
    CHITCHAT = "chitchat"


LIST_KINDS: tuple[ListKind, ...] = tuple(ListKind)
VERDICTS: tuple[Verdict, ...] = tuple(Verdict)
# Which verdict an item of each list leads to.
VERDICT_OF_LIST: dict[str, Verdict] = {
    ListKind.DUTY: Verdict.DUTY,
    ListKind.ASSIST: Verdict.ASSIST,
    ListKind.RESTRICTED: Verdict.RESTRICTED,
    ListKind.CERTIFICATE: Verdict.CERTIFICATE_REFUSED,
}
PERMITS: frozenset[Verdict] = frozenset({Verdict.DUTY, Verdict.ASSIST})
FORBIDDEN_VERDICTS: frozenset[Verdict] = frozenset({Verdict.RESTRICTED, Verdict.CERTIFICATE_REFUSED, Verdict.UNLISTED})


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
    # What the cadre reads after 原因： for a forbidden item ("要求村(居)委会作为责任主体执法").
    reason: str = ""
    # A part the item plays in certificate requests: "issuable" (B27), "baseless" (C25), or none.
    certificate_role: str = ""
    # Set from the town's agreement file (B items only).
    enabled: bool = True
    fee: str = ""
    period: str = ""
    department: str = ""
    # For residents who ask about it themselves (optional): where to go, and what to bring.
    resident_where: str = ""
    resident_bring: str = ""


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
        if self.verdict in PERMITS:
            return True
        if self.verdict in FORBIDDEN_VERDICTS:
            return False
        return None

    @property
    def top(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def to_json(self) -> dict:
        return {
            "verdict": str(self.verdict),
            "in_agreement": self.in_agreement,
            "matches": [m.to_json() for m in self.matches[:3]],
            "reply": self.reply,
        }
