"""What the two-way evaluation (双向评估) takes from the knowledge base: the town agreement's terms (the agreed
items with their department, weight and fee, the bonus limit, the rule that ties payment to the score) and the
scheme a committee grades its departments with (aspects and grades, knowledge/data/evaluation.yaml).

    terms = agreement_terms(kb.raw)          # AgreementTerms of the agreement's town (kb.agreement['town'])
    terms.items_of("人社局")                 # the agreed items that department commissioned
    terms.due_fen(item, score=92.5)         # what the round's payment is after the score (费随事转)
    scheme = evaluation_scheme(kb.raw)       # aspects (行政指导…) and grades (好/较好/一般/差)

Both read a RawKnowledge, so a command that needs no model reads the lists only (read_knowledge(with_corpus=False)).

Money is in fen (int): the dossier's sums must add up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from knowledge.vocabulary import DepartmentIndex
from texts import kb as K

if TYPE_CHECKING:
    from knowledge.loader import RawKnowledge

FULL_SCORE = 100.0


class PaymentRule(StrEnum):
    """How the round's fee follows the score (the agreement's evaluation.payment.rule)."""

    SCORE_SHARE = "score_share"  # fee × min(score, 100) / 100
    PASS_MARK = "pass_mark"  # the whole fee at pass_score or above, nothing below


@dataclass(frozen=True)
class AgreedItem:
    item_id: str
    title: str
    department: str  # as the agreement writes it ('人社所')
    department_key: str  # its canonical name ('人社局'), the key of scores, ratings and red cards
    fee_text: str  # the agreement's words ('0.8万元/年')
    annual_fen: int | None  # the fixed yearly amount; None when the agreement fixes none (按件, 另行核拨)
    weight: int


@dataclass(frozen=True)
class Payment:
    rule: PaymentRule = PaymentRule.SCORE_SHARE
    pass_score: float = 60.0

    def due_fen(self, agreed_fen: int, score: float | None) -> int:
        """What is due for `agreed_fen` after `score` (nothing while unscored)."""
        if score is None:
            return 0
        if self.rule is PaymentRule.PASS_MARK:
            return agreed_fen if score >= self.pass_score else 0
        share = Decimal(agreed_fen) * Decimal(str(min(score, FULL_SCORE))) / Decimal(100)
        return int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class AgreementTerms:
    town_code: str
    name: str
    items: tuple[AgreedItem, ...]  # the enabled agreed items, in the file's order
    payment: Payment
    bonus_max: float
    rounds_per_year: int

    def item(self, item_id: str) -> AgreedItem | None:
        return next((i for i in self.items if i.item_id == item_id), None)

    def items_of(self, department_key: str) -> tuple[AgreedItem, ...]:
        return tuple(i for i in self.items if i.department_key == department_key)

    def departments(self) -> tuple[str, ...]:
        """The commissioning departments (canonical names), in the file's order."""
        return tuple(dict.fromkeys(i.department_key for i in self.items))

    def round_fen(self, item: AgreedItem) -> int | None:
        """The round's share of the item's yearly fee."""
        if item.annual_fen is None:
            return None
        share = Decimal(item.annual_fen) / Decimal(self.rounds_per_year)
        return int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def due_fen(self, item: AgreedItem, score: float | None) -> int | None:
        agreed = self.round_fen(item)
        return None if agreed is None else self.payment.due_fen(agreed, score)


@dataclass(frozen=True)
class Aspect:
    code: str
    label: str


@dataclass(frozen=True)
class Grade:
    code: str
    label: str
    points: int


@dataclass(frozen=True)
class EvaluationScheme:
    aspects: tuple[Aspect, ...]
    grades: tuple[Grade, ...]
    rounds_per_year: int

    def aspect(self, code: str) -> Aspect | None:
        return next((a for a in self.aspects if a.code == code), None)

    def grade(self, code: str) -> Grade | None:
        return next((g for g in self.grades if g.code == code), None)


# ---------------------------------------------------------------------------------------------- reading


def _fen(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(value)
    amount = Decimal(str(value))
    if amount < 0:
        raise ValueError(value)
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _weight(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(value)
    return value


def scheme_problems(data: dict) -> list[tuple[int, str]]:
    """(line, message) for each problem of evaluation.yaml."""
    problems: list[tuple[int, str]] = []
    for key in ("aspects", "grades"):
        entries = data.get(key) or []
        if not entries:
            problems.append((data.get("__line__", 1), K.EVALUATION_EMPTY.format(key=key)))
        codes = [str(e.get("code", "")) for e in entries if isinstance(e, dict)]
        for entry in entries:
            if not isinstance(entry, dict) or not str(entry.get("code", "")).strip() or not str(entry.get("label", "")).strip():
                line = entry.get("__line__", 0) if isinstance(entry, dict) else 0
                problems.append((line, K.EVALUATION_ENTRY.format(key=key)))
        for code in {c for c in codes if codes.count(c) > 1}:
            problems.append((data.get("__line__", 1), K.EVALUATION_DUPLICATE.format(key=key, code=code)))
    rounds = data.get("rounds_per_year", 2)
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds not in (1, 2):
        problems.append((data.get("__line__", 1), K.EVALUATION_ROUNDS))
    return problems


def agreement_problems(agreement: dict) -> list[tuple[int, str]]:
    """(line, message) for each problem of a town agreement's evaluation terms (fee_yuan, weight, payment)."""
    problems: list[tuple[int, str]] = []
    for item_id, terms in (agreement.get("items") or {}).items():
        if item_id == "__line__" or not isinstance(terms, dict):
            continue
        line = terms.get("__line__", agreement.get("__line__", 0))
        try:
            _fen(terms.get("fee_yuan"))
        except (ValueError, ArithmeticError):
            problems.append((line, K.AGREEMENT_FEE.format(item_id=item_id, value=terms.get("fee_yuan"))))
        try:
            _weight(terms.get("weight"))
        except ValueError:
            problems.append((line, K.AGREEMENT_WEIGHT.format(item_id=item_id, value=terms.get("weight"))))
    evaluation = agreement.get("evaluation") or {}
    line = evaluation.get("__line__", 0) if isinstance(evaluation, dict) else 0
    payment = evaluation.get("payment") or {} if isinstance(evaluation, dict) else {}
    rule = str(payment.get("rule", PaymentRule.SCORE_SHARE)) if isinstance(payment, dict) else ""
    if rule not in {r.value for r in PaymentRule}:
        problems.append((line, K.AGREEMENT_PAYMENT_RULE.format(rule=rule, rules="、".join(PaymentRule))))
    bonus = evaluation.get("bonus_max", 0) if isinstance(evaluation, dict) else 0
    if isinstance(bonus, bool) or not isinstance(bonus, int | float) or bonus < 0:
        problems.append((line, K.AGREEMENT_BONUS.format(value=bonus)))
    return problems


def evaluation_scheme(raw: RawKnowledge) -> EvaluationScheme:
    data = raw.evaluation
    return EvaluationScheme(
        aspects=tuple(Aspect(str(a["code"]), str(a["label"])) for a in data.get("aspects") or []),
        grades=tuple(Grade(str(g["code"]), str(g["label"]), int(g.get("points", 0))) for g in data.get("grades") or []),
        rounds_per_year=int(data.get("rounds_per_year", 2)),
    )


def agreement_terms(raw: RawKnowledge) -> AgreementTerms:
    """The terms of the knowledge base's town agreement (validated by `kb validate`, so read as given)."""
    agreement = raw.agreement or {}
    departments = DepartmentIndex(raw.departments)
    evaluation = agreement.get("evaluation") or {}
    payment = evaluation.get("payment") or {}
    items = []
    for item in raw.items.values():
        if item.list != "assist" or not item.enabled or not item.department:
            continue
        terms = (agreement.get("items") or {}).get(item.id) or {}
        terms = terms if isinstance(terms, dict) else {}
        items.append(AgreedItem(
            item_id=item.id, title=item.title, department=item.department,
            department_key=departments.canonical(item.department) or item.department,
            fee_text=item.fee, annual_fen=_fen(terms.get("fee_yuan")), weight=_weight(terms.get("weight")),
        ))
    return AgreementTerms(
        town_code=str(agreement.get("town", "")), name=str(agreement.get("name", "")), items=tuple(items),
        payment=Payment(PaymentRule(str(payment.get("rule", PaymentRule.SCORE_SHARE))),
                        float(payment.get("pass_score", 60))),
        bonus_max=float(evaluation.get("bonus_max", 0)),
        rounds_per_year=int(raw.evaluation.get("rounds_per_year", 2)),
    )


__all__ = ["FULL_SCORE", "AgreedItem", "AgreementTerms", "Aspect", "EvaluationScheme", "Grade", "Payment",
           "PaymentRule", "agreement_problems", "agreement_terms", "evaluation_scheme", "scheme_problems"]
