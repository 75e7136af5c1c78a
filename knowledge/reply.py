"""Composes the reply a cadre reads on a phone: verdict first, then the item, why, and what to do."""

from __future__ import annotations

from knowledge.model import Verdict
from knowledge.reading import Asker
from knowledge.verdict import Candidate, Decision
from texts import check as T

MAX_ROLES_SHOWN = 3


def _item_line(candidate: Candidate) -> str:
    item = candidate.item
    return T.ITEM_LINE.format(id=item.id, title=item.title, list_name=T.LIST_NAME[item.list])


def _reason(decision: Decision) -> str | None:
    """Why, in the cadre's terms: the role demanded, who asks, or what the item is."""
    verdict, reading = decision.verdict, decision.reading
    top = decision.matches[0] if decision.matches else None
    basis = T.BASIS_NOTE.format(basis=top.item.basis[0]) if top and top.item.basis else ""
    if verdict == Verdict.DUTY:
        return T.REASON["duty"].format(basis=basis)
    if verdict == Verdict.ASSIST:
        if top and top.item.certificate_role == "issuable":
            return T.REASON["assist_certificate"]
        roles = list(dict.fromkeys(reading.assist_roles))[:MAX_ROLES_SHOWN] if reading else []
        note = T.ROLES_NOTE.format(roles=T.ROLE_JOINER.join(roles)) if roles else ""
        return T.REASON["assist"].format(roles=note)
    if verdict == Verdict.RESTRICTED and top is not None:
        return T.REASON["restricted"].format(reason=top.item.reason or top.item.title, basis=basis)
    if verdict == Verdict.CERTIFICATE_REFUSED:
        return T.REASON["certificate_refused"].format(basis=basis)
    if verdict == Verdict.UNLISTED and decision.not_in_agreement is None:
        if reading and reading.out_roles:
            return T.REASON["unlisted_role"].format(reason=reading.out_roles[0][1])
        if reading and reading.asker_word and reading.asker == Asker.COMMERCIAL:
            return T.REASON["unlisted_commercial"].format(asker=reading.asker_word)
        return T.REASON["unlisted"]
    return None


def compose(decision: Decision) -> str:
    verdict = decision.verdict
    if verdict == Verdict.CHITCHAT:
        return T.HELP_SHORT
    if verdict == Verdict.UNCLEAR:
        if not decision.matches:
            return T.UNCLEAR_NOTHING
        return "\n".join([T.HEADLINE["unclear"], *(f"· {_item_line(c)}" for c in decision.matches), T.ACTION["unclear"]])

    lines: list[str] = []
    top = decision.matches[0] if decision.matches else None
    if decision.not_in_agreement is not None:
        item = decision.not_in_agreement
        lines.append(T.NOT_IN_AGREEMENT.format(id=item.id, title=item.title))
    else:
        lines.append(T.HEADLINE[verdict])
        if top is not None and verdict != Verdict.UNLISTED:
            lines.append(_item_line(top))
    reason = _reason(decision)
    if reason:
        lines.append(reason)
    if verdict == Verdict.CERTIFICATE_REFUSED and top is not None and top.item.issuer:
        lines.append(T.ISSUER.format(issuer=top.item.issuer.rstrip("。")))  # the body that issues it instead

    part = decision.allowed_part
    if part is not None and verdict != Verdict.DUTY and verdict != Verdict.ASSIST:
        lines.append(T.MIXED.format(allowed_id=part.item.id, allowed_title=part.item.title))

    if verdict == Verdict.CERTIFICATE_REFUSED:
        # Each certificate's own advice says where the person should go instead.
        advice = top.item.advice if top else ""
        lines.append(T.ACTION["certificate_refused"].format(advice=advice) if advice else T.ACTION["certificate_refused_no_issuer"])
    else:
        action = T.ACTION[verdict]
        if verdict == Verdict.ASSIST and top is not None and top.item.department and top.item.fee:
            action += T.FEE_NOTE.format(department=top.item.department, fee=top.item.fee)
        lines.append(action)
    return "\n".join(lines)
