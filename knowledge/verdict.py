"""The rules that turn item scores and role cues into one verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.matcher import Analysis, ItemScore
from knowledge.model import VERDICT_OF_LIST, Item, Verdict


@dataclass(frozen=True)
class Thresholds:
    """Tuned on the development set; see bench/accuracy.py."""

    confident: float = 0.6  # an allowed item this strong is an answer
    minimum: float = 0.35  # below this an item is not even a candidate
    gap: float = 0.3  # top two of different verdicts closer than this (relative) are unclear
    forbidden: float = 0.6  # keyword evidence for a C or P item that outweighs an allowed part
    part: float = 0.5  # keyword evidence for the allowed part of a mixed request
    initiative: float = 1.6  # how much who starts the work (committee or department) favours duty or assist


@dataclass
class Decision:
    verdict: Verdict
    matches: list[ItemScore] = field(default_factory=list)
    allowed_part: ItemScore | None = None
    out_roles: list[str] = field(default_factory=list)
    not_in_agreement: Item | None = None
    assist_only: bool = False  # the forbidden part was denied and only publicising/notifying is asked


HINT_FLOOR = 0.3  # a C item with at least one topical word beats a role word's default item


def _with_keywords(ranked: list[ItemScore], lists: tuple[str, ...], floor: float) -> list[ItemScore]:
    return [s for s in ranked if s.item.list in lists and s.keyword_score >= floor]


def _role_items(analysis: Analysis, items: dict[str, Item]) -> list[ItemScore]:
    """The C items a forbidden role word points at: the best-scoring one that carries the word, else its default."""
    words = {word for word, _ in analysis.forbidden_roles}
    carrying = [s for s in analysis.ranked if s.item.list == "restricted" and words & set(s.words)]
    if carrying:
        return carrying
    scored = [s for s in analysis.ranked if s.item.list == "restricted" and s.keyword_score >= HINT_FLOOR]
    if scored:
        return scored
    return [ItemScore(items[item_id], 0.0, 0.0, [word]) for word, item_id in analysis.forbidden_roles]


def _unique(scores: list[ItemScore]) -> list[ItemScore]:
    seen: set[str] = set()
    return [s for s in scores if not (s.item.id in seen or seen.add(s.item.id))]


def _who_acts(analysis: Analysis, t: Thresholds) -> list[ItemScore]:
    """Re-rank the allowed items by who starts the work.

    The same activity is the committee's own duty when it starts it ("村里自己想办个法律小课堂") and assisting
    work when a department hands it down ("司法所让村里配合搞宪法宣传周").
    """
    if analysis.self_initiated and not analysis.task_cues:
        favoured, factor = "duty", t.initiative
    elif analysis.task_cues and not analysis.self_initiated:
        favoured, factor = "assist", t.initiative
    else:
        return analysis.ranked
    # Only the other kind is held back: nothing becomes surer than its own evidence.
    rival = "assist" if favoured == "duty" else "duty"
    rescored = []
    for s in analysis.ranked:
        weight = 1 / factor if s.item.list == rival else 1.0
        rescored.append(ItemScore(s.item, s.score * weight, s.keyword_score * weight, s.words) if weight != 1.0 else s)
    return sorted(rescored, key=ItemScore.compare_key, reverse=True)


def decide(analysis: Analysis, items: dict[str, Item], t: Thresholds = Thresholds()) -> Decision:
    ranked = _who_acts(analysis, t)
    top = ranked[0] if ranked else None
    top_score = top.score if top else 0.0

    allowed = _with_keywords(ranked, ("duty", "assist"), t.part)
    allowed_part = allowed[0] if allowed else None

    # Small talk: no topic word at all, and a greeting, a thanks or a question to the bot.
    if analysis.chitchat and (top is None or top.keyword_score < t.part) and not analysis.out_roles \
            and not analysis.forbidden_roles:
        return Decision("chitchat")

    # A certificate request: the P list against the certificates a committee may still issue (B27).
    # "骑手跑来社区让我们开无犯罪记录": a certificate named outright and asked of the committee.
    named_certificate = (top is not None and top.item.list == "certificate" and top.keyword_score >= t.forbidden
                         and bool(analysis.task_cues))
    if analysis.certificate_words or named_certificate:
        refused = [s for s in ranked if s.item.list == "certificate" and s.score >= t.minimum]
        issuable = next((s for s in ranked if s.item.id == "B27" and s.keyword_score >= t.part), None)
        baseless = next((s for s in ranked if s.item.id == "C25" and s.keyword_score >= t.part), None)
        if baseless and (not refused or baseless.keyword_score >= refused[0].keyword_score):
            return Decision("restricted", [baseless, *refused[:2]])
        if issuable and (not refused or issuable.keyword_score >= refused[0].keyword_score):
            return Decision("assist", [issuable, *[s for s in ranked if s is not issuable][:2]])
        if refused:
            return Decision("certificate_refused", refused[:3])

    # Forbidden evidence wins over any allowed part: a wrong "yes" is the costly error.
    # (P items only speak where a certificate is asked for, above.)
    forbidden = _with_keywords(ranked, ("restricted",), t.forbidden)
    if analysis.forbidden_roles:
        forbidden = _unique(_role_items(analysis, items) + [s for s in forbidden if s.item.list == "restricted"])
    if forbidden:
        verdict = VERDICT_OF_LIST[forbidden[0].item.list]
        part = allowed_part if allowed_part and allowed_part.score >= t.part else None
        matches = forbidden[:2] + ([part] if part else [])
        return Decision(verdict, matches[:3], allowed_part=part, out_roles=analysis.out_roles)

    if analysis.out_roles:
        return Decision("unlisted", allowed[:3], allowed_part=allowed_part, out_roles=analysis.out_roles)

    # A restricted item that fits clearly on its own (the cadre often names it: "这算不算协税护税").
    if top and top.item.list == "restricted" and top_score >= t.confident and top.keyword_score >= HINT_FLOOR:
        return Decision("restricted", [top, *_with_keywords(ranked[1:], ("restricted",), HINT_FLOOR)][:3])

    if top and top.item.list in ("duty", "assist") and top_score >= t.confident:
        rival = next((s for s in ranked[1:] if VERDICT_OF_LIST[s.item.list] != VERDICT_OF_LIST[top.item.list]), None)
        if rival is None or (top_score - rival.score) / top_score >= t.gap:
            if not top.item.enabled:
                return Decision("unlisted", [top], not_in_agreement=top.item)
            return Decision(VERDICT_OF_LIST[top.item.list], ranked[:3])

    # "不是让我们收钱，只是宣传": the forbidden part is denied and only an assisting role is left, but no item
    # says what is publicised. Not a refusal, and not yet a yes: ask which matter, offering assisting items.
    if analysis.denied and analysis.assist_roles:
        roles = set(analysis.assist_roles)
        candidates = [s for s in ranked if s.item.list in ("assist", "duty") and set(s.words) - roles][:3]
        return Decision("unclear", candidates, assist_only=True)

    if top and top_score >= t.minimum and top.keyword_score >= HINT_FLOOR:
        return Decision("unclear", [s for s in ranked if s.score >= t.minimum][:3])
    # Nothing on any list fits. A concrete task pushed on the committee is unlisted work; a vague one
    # ("又来任务了") cannot be judged yet; anything else is small talk.
    concrete = len(analysis.content_words) >= 2
    if analysis.task_cues and concrete:
        return Decision("unlisted")
    # A question about some matter that fits nothing: ask for detail rather than chat.
    if analysis.task_cues or analysis.question_cues or analysis.self_initiated:
        return Decision("unclear")
    return Decision("chitchat")
