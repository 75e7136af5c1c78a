"""Composes the reply a cadre reads on a phone: verdict first, then the item, why, and what to do."""

from __future__ import annotations

from bot.texts import check as T
from knowledge.matcher import ItemScore
from knowledge.verdict import Decision

MAX_WORDS_SHOWN = 4


def _quoted(words: list[str]) -> str:
    unique = list(dict.fromkeys(w for w in words if w))[:MAX_WORDS_SHOWN]
    return T.JOINER.join(T.QUOTE.format(w) for w in unique)


def _item_line(score: ItemScore) -> str:
    item = score.item
    return T.ITEM_LINE.format(id=item.id, title=item.title, list_name=T.LIST_NAME[item.list])


def compose(decision: Decision) -> str:
    verdict = decision.verdict
    if verdict == "chitchat":
        return T.HELP_SHORT
    if decision.assist_only:
        return "\n".join([T.ASSIST_ONLY, *(f"· {_item_line(s)}" for s in decision.matches), T.ASSIST_ONLY_ASK])
    if verdict == "unclear":
        if not decision.matches:
            return T.UNCLEAR_NOTHING
        return "\n".join([T.HEADLINE["unclear"], *(f"· {_item_line(s)}" for s in decision.matches), T.ACTION["unclear"]])

    lines: list[str] = []
    top = decision.matches[0] if decision.matches else None
    if decision.not_in_agreement is not None:
        item = decision.not_in_agreement
        lines.append(T.NOT_IN_AGREEMENT.format(id=item.id, title=item.title))
    else:
        lines.append(T.HEADLINE[verdict])
        if top is not None and verdict != "unlisted":
            lines.append(_item_line(top))

    if top is not None and top.words and verdict != "unlisted":
        why = T.WHY.format(words=_quoted(top.words))
        if top.item.basis and verdict == "restricted":
            why += f"；违反{top.item.basis[0]}"
        lines.append(why)
    if decision.out_roles:
        lines.append(T.OUT_ROLE.format(words=_quoted(decision.out_roles)))
    elif verdict == "unlisted" and decision.not_in_agreement is None and not decision.matches:
        lines.append(T.WHY_NONE)

    part = decision.allowed_part
    if part is not None and verdict in ("restricted", "unlisted", "certificate_refused"):
        lines.append(T.MIXED.format(allowed_words=_quoted(part.words[:2]) or T.QUOTE.format(part.item.title),
                                    allowed_id=part.item.id, allowed_title=part.item.title))

    if verdict == "certificate_refused":
        # Each certificate's own advice says where the person should go instead.
        advice = top.item.advice if top else ""
        lines.append(T.ACTION["certificate_refused"].format(advice=advice) if advice else T.ACTION["certificate_refused_no_issuer"])
    else:
        action = T.ACTION[verdict]
        if verdict == "assist" and top is not None and top.item.department and top.item.fee:
            action += T.FEE_NOTE.format(department=top.item.department, fee=top.item.fee)
        lines.append(action)
    return "\n".join(lines)
