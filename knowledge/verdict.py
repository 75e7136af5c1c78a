"""From the model's probabilities and the request's structure to one verdict, by named rules.

The model proposes; the rules below may only make an answer more careful (a permit becomes a refusal or
`unclear`), never the other way round, because a wrong "在协议内" sends a cadre to do forbidden work.
Each rule is pinned by a labelled case that fails without it (tests/knowledge/test_verdict_rules.py), and any
rule can be switched off by name to measure what it does (bench/accuracy.py --ablate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from knowledge.learned import Scores
from knowledge.model import PERMITS, VERDICT_OF_LIST, Item, ListKind, Verdict
from knowledge.reading import Reading


class Rule(StrEnum):
    OUT_ROLE_BLOCKS_PERMIT = "out_role_blocks_permit"
    PERMIT_NEEDS_CONFIDENCE = "permit_needs_confidence"
    AGREEMENT_SWITCHES_ITEM_OFF = "agreement_switches_item_off"


@dataclass(frozen=True)
class Thresholds:
    """Chosen on the writers held out in turn; bench/accuracy.py --sweep prints the curve around them."""

    permit: float = 0.6  # a permit needs at least this calibrated probability
    allowed_part: float = 0.12  # an allowed item this probable is named as the allowed part of a refusal
    candidate: float = 0.04  # items shown under `unclear`
    allowed_clause: float = 0.3  # a clause read alone names an allowed part when its item is this probable
    allowed_hint: float = 0.02  # … searched for only where the whole message gives an allowed item this much


@dataclass(frozen=True)
class Candidate:
    item: Item
    probability: float


@dataclass
class Decision:
    verdict: Verdict
    matches: list[Candidate] = field(default_factory=list)
    allowed_part: Candidate | None = None
    reading: Reading | None = None
    not_in_agreement: Item | None = None
    fired: list[Rule] = field(default_factory=list)
    canonical: str = ""  # the message as read, for looking up who handed it down


LISTS_OF_VERDICT: dict[Verdict, tuple[str, ...]] = {
    Verdict.DUTY: (ListKind.DUTY,),
    Verdict.ASSIST: (ListKind.ASSIST,),
    Verdict.RESTRICTED: (ListKind.RESTRICTED,),
    Verdict.CERTIFICATE_REFUSED: (ListKind.CERTIFICATE,),
    Verdict.UNLISTED: (),
}


def _candidates(scores: Scores, items: dict[str, Item], lists: tuple[str, ...], limit: int = 3) -> list[Candidate]:
    return [Candidate(items[i], p) for i, p in scores.best_items(lists, items, limit)]


def decide(scores: Scores, reading: Reading, items: dict[str, Item], t: Thresholds = Thresholds(),
           disabled: frozenset[Rule] = frozenset()) -> Decision:
    verdict, probability = scores.best_verdict()
    verdict = Verdict(verdict)
    fired: list[Rule] = []

    def on(rule: Rule) -> bool:
        return rule not in disabled

    if verdict in PERMITS and on(Rule.OUT_ROLE_BLOCKS_PERMIT) and reading.out_roles:
        # "另外让社区把排查数字凑够30户" / "向应聘者收取介绍费": collecting money, selling or padding numbers is
        # on no list at all, however assisting the rest of the request is.
        verdict = Verdict.UNLISTED
        fired.append(Rule.OUT_ROLE_BLOCKS_PERMIT)
    if verdict in PERMITS and on(Rule.PERMIT_NEEDS_CONFIDENCE) and probability < t.permit:
        fired.append(Rule.PERMIT_NEEDS_CONFIDENCE)
        shown = [Candidate(items[i], p) for i, p in scores.items[:3] if p >= t.candidate]
        return Decision(Verdict.UNCLEAR, shown, reading=reading, fired=fired)

    if verdict in (Verdict.CHITCHAT, Verdict.UNCLEAR):
        shown = [Candidate(items[i], p) for i, p in scores.items[:3] if p >= t.candidate]
        return Decision(verdict, shown if verdict == Verdict.UNCLEAR else [], reading=reading, fired=fired)

    matches = _candidates(scores, items, LISTS_OF_VERDICT[verdict])
    if verdict == Verdict.ASSIST and matches and not matches[0].item.enabled \
            and on(Rule.AGREEMENT_SWITCHES_ITEM_OFF):
        fired.append(Rule.AGREEMENT_SWITCHES_ITEM_OFF)
        return Decision(Verdict.UNLISTED, matches[:1], reading=reading, not_in_agreement=matches[0].item, fired=fired)

    allowed_part = None
    if verdict not in PERMITS:
        allowed = _candidates(scores, items, (ListKind.DUTY, ListKind.ASSIST), 1)
        if allowed and allowed[0].probability >= t.allowed_part:
            allowed_part = allowed[0]
    if verdict == Verdict.UNLISTED:
        matches = [allowed_part] if allowed_part else []
    elif allowed_part is not None:
        matches = matches[:2] + [allowed_part]  # the forbidden part first, always
    return Decision(verdict, matches[:3], allowed_part=allowed_part, reading=reading, fired=fired)


__all__ = ["Candidate", "Decision", "Rule", "Thresholds", "VERDICT_OF_LIST", "decide"]
