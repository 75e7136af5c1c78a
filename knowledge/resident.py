"""The check's answer retold for a resident: where to go and what to bring (from the item's `resident` fields,
else its issuer or a plain default), never the cadres' lists, agreements or red cards."""

from __future__ import annotations

from collections.abc import Mapping

from knowledge.model import CheckResult, Item, ListKind, Verdict
from texts import resident as T


def resident_reply(items: Mapping[str, Item], result: CheckResult) -> str:
    """What a resident reads for a check's result."""
    if result.problem:
        return result.reply  # empty, too long …: the same short note as for anyone
    if result.verdict == Verdict.CHITCHAT:
        return T.HELLO
    top = result.top
    item = items.get(top.id) if top is not None else None
    if item is None or result.verdict == Verdict.UNCLEAR and (top is None or top.score < 0.5):
        return T.UNCLEAR
    lines = [T.TOPIC.format(title=_plain_title(item))]
    if item.list == ListKind.CERTIFICATE:
        lines.append(T.CERTIFICATE)
        if item.issuer:
            lines.append(T.CERTIFICATE_WHERE.format(issuer=item.issuer.rstrip("。")))
            return "\n".join(lines)
    if item.resident_where:
        lines.append(T.WHERE.format(where=item.resident_where.rstrip("。")))
    elif item.list == ListKind.DUTY:  # the committee's own work: nothing to bring to a counter
        lines.append(T.WHERE.format(where=T.WHERE_COMMITTEE))
        return "\n".join(lines)
    else:
        lines.append(T.WHERE.format(where=T.WHERE_DEFAULT))
    lines.append(T.BRING.format(bring=item.resident_bring.rstrip("。")) if item.resident_bring else T.BRING_ASK)
    return "\n".join(lines)


def _plain_title(item: Item) -> str:
    """The title without the cadres' 协助 (B items read '协助低保、特困等社会救助')."""
    return item.title.removeprefix("协助") if item.list == ListKind.ASSIST else item.title


__all__ = ["resident_reply"]
