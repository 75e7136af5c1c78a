"""The red-card candidate flow (记为红牌候选), without Telegram.

    started = start(session, kb, actor, check_id, Pick.TOP)        # Asking | Typing | AlreadyReported | Refused
    result = choose_guess(session, kb, actor, pending_id, 0)       # Saved | Refused
    result = choose_other(session, actor, pending_id)              # Typing: the department comes as free text
    result = typed_department(session, kb, actor, "镇医保办")        # Saved | NotADepartment | StillWaiting | ...
    result = cancel_choice(session, actor, pending_id)             # Cancelled | Refused
    cancel_all(session, actor)                                     # /cancel: True if a card was waiting
    decided = decide(session, actor, card_id, Decision.WITHDRAW)   # Decided (with an undo id) | Refused
    restored = undo_withdrawal(session, actor, undo_id)            # Restored | Refused

The state is in storage.pending: a card waiting for its department button (kind CHOOSE), or for a typed
department (kind TYPED), and a withdrawal that may still be undone (kind UNDO, for a day). A typed department is
saved as typed; its canonical name (the knowledge base's) goes to `department_key`, only for grouping.

While a card waits for a typed department, a message that reads as a new task (too long for a department name,
a sentence, or a task the knowledge base recognises and no department name) is no department: the caller checks
it as a task and the card keeps waiting (StillWaiting).

A check raises one red card at most: pressing 记为红牌候选 again on the same answer shows the step still waiting
for that check (the same question, or the prompt for a typed department), or the card it was already saved as
(AlreadyReported). The database enforces it (storage.redcards: one report per check), so two presses racing to
save still count the card once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.orm import Session

from flows import Actor
from knowledge.model import FORBIDDEN_VERDICTS, CheckResult, Item, ListKind, Verdict
from storage import checklog, pending, redcards
from storage.errors import InvalidInput, InvalidTransition, NotFound, NotPermitted
from storage.members import get_member
from storage.models import NO_ITEM, ROLE_CADRE, Member

CHOOSE = "redcard"  # waiting for a department button
TYPED = "redcard_typed"  # waiting for a typed department
UNDO = "redcard_undo"  # a withdrawal that may be undone
WAITING_KINDS = (CHOOSE, TYPED)
STEP_TTL = timedelta(days=1)
UNDO_TTL = timedelta(days=1)
GUESSES = 3
DEPARTMENT_MAX = 30  # longer than any department name: a new task
# A department name is one noun phrase; a short sentence is a task. Beyond this length (and no name ending) the
# text must also not look like a task to count as a department.
NAME_MAX = 12
SENTENCE_MARKS = re.compile(r"[，。！？；,.!?;：:、\n]")
# How organisation names end (县人社局, 镇医保办, 蓝天志愿者协会, 社区卫生服务中心, 某某公司 ...)
NAME_ENDINGS = ("局", "办", "所", "站", "中心", "委", "部", "科", "院", "队", "处", "会", "厅", "室", "组", "社", "馆",
                "庭", "台", "署", "司", "公司", "政府", "街道", "镇", "乡", "村", "社区", "大队", "中队", "银行", "学校")
# Words of someone telling what they were told to do: a task, not a name.
TASK_WORDS = ("让我们", "叫我们", "要我们", "要求我们", "让村", "让社区", "叫村", "叫社区", "我们", "每天", "还要")
TASK_VERDICTS = frozenset({Verdict.DUTY, Verdict.ASSIST, Verdict.RESTRICTED, Verdict.CERTIFICATE_REFUSED,
                           Verdict.UNLISTED})


class KnowledgeBase(Protocol):
    """What the flow needs of knowledge.KnowledgeBase."""

    items: dict[str, Item]
    departments: Any

    def check(self, text: str) -> CheckResult: ...


class Pick(StrEnum):
    """Which part of a check's answer the card is for (carried in the 记为红牌候选 button)."""

    TOP = "t"  # the answer's own verdict
    NONE = "n"  # 都不是: an unlisted task
    FIRST = "1"  # a candidate of an unclear answer
    SECOND = "2"
    THIRD = "3"


class Decision(StrEnum):
    CONFIRM = "c"
    WITHDRAW = "w"


class Refusal(StrEnum):
    NOT_REGISTERED = "not_registered"
    NOT_CADRE = "not_cadre"
    STALE = "stale"  # the check, the step or the card is gone (expired, used, double tap)
    NOT_YOURS = "not_yours"
    NOT_REFUSABLE = "not_refusable"  # work in the lists: no red card
    WRONG_VILLAGE = "wrong_village"  # the cadre moved to another village meanwhile
    CARD_GONE = "card_gone"
    NOT_PERMITTED = "not_permitted"
    ALREADY = "already"  # the card is in a status that does not allow this (see Refused.status)


@dataclass(frozen=True)
class Refused:
    reason: Refusal
    status: str = ""  # ALREADY: the card's current status


@dataclass(frozen=True)
class Asking:
    """The card is started; which department handed the task down? (guesses from the text, best first)"""

    pending_id: int
    task: str
    departments: tuple[str, ...]


@dataclass(frozen=True)
class Typing:
    """Waiting for the department as free text."""

    pending_id: int


@dataclass(frozen=True)
class AlreadyReported:
    """This check was reported before: the card it was saved as (not counted again)."""

    department: str
    item_id: str
    count: int
    status: str


@dataclass(frozen=True)
class Cancelled:
    pass


@dataclass(frozen=True)
class Saved:
    department: str
    item_id: str  # NO_ITEM for an unlisted task
    count: int  # 1: a new card; more: the same department and item reported again this year

    @property
    def created(self) -> bool:
        return self.count == 1


class TypedProblem(StrEnum):
    EMPTY = "empty"  # no letters at all ("👍👍")


@dataclass(frozen=True)
class NotADepartment:
    """The text cannot be a department name; the card still waits."""

    problem: TypedProblem


@dataclass(frozen=True)
class StillWaiting:
    """The text reads as a new task: check it as one; the card (of `task`) still waits for its department."""

    task: str


@dataclass(frozen=True)
class NothingWaiting:
    """No card waits for a typed department from this user here."""


@dataclass(frozen=True)
class Decided:
    decision: Decision
    undo_id: int | None = None  # WITHDRAW: the pending step that undoes it (for a day)


@dataclass(frozen=True)
class Restored:
    card_id: int
    status: str


@dataclass(frozen=True)
class Draft:
    """What a red card will be saved with, decided from the check and the pressed button."""

    item_id: str
    evidence: tuple[str, ...]
    departments: tuple[str, ...]


# ---------------------------------------------------------------------------------------------- what may be refused


def item_is_forbidden(item: Item) -> bool:
    """Work a committee may refuse: restricted items, certificates, and B items left out of the town's agreement."""
    return item.list in (ListKind.RESTRICTED, ListKind.CERTIFICATE) or (item.list == ListKind.ASSIST and not item.enabled)


def draft_for(result: CheckResult, pick: Pick, kb: KnowledgeBase) -> Draft | None:
    """The card for this check and pick; None if that part of the answer is work the committee must do."""
    departments = tuple(result.extras.get("departments") or ([result.department] if result.department else []))
    departments = departments[:GUESSES]
    if pick == Pick.TOP:
        if result.verdict not in FORBIDDEN_VERDICTS:
            return None
        top = result.top
        if result.verdict == Verdict.UNLISTED or top is None:
            words = tuple(result.extras.get("out_roles") or ())
            listed_allowed = top is not None and top.id in kb.items and not item_is_forbidden(kb.items[top.id])
            item_id = top.id if top is not None and not listed_allowed else NO_ITEM
            return Draft(item_id, words, departments)
        return Draft(top.id, tuple(top.matched), departments)
    if pick == Pick.NONE:
        return Draft(NO_ITEM, (), departments)
    index = int(pick)
    if result.verdict != Verdict.UNCLEAR or index > len(result.matches):
        return None
    match = result.matches[index - 1]
    if not item_is_forbidden(kb.items[match.id]):
        return None
    return Draft(match.id, tuple(match.matched), departments)


# ---------------------------------------------------------------------------------------------- starting


def _cadre(session: Session, actor: Actor) -> Member | Refused:
    member = get_member(session, actor.user_id)
    if member is None:
        return Refused(Refusal.NOT_REGISTERED)
    if member.role != ROLE_CADRE or member.village_id is None:
        return Refused(Refusal.NOT_CADRE)
    return member


def start(session: Session, kb: KnowledgeBase, actor: Actor, check_id: int,
          pick: Pick) -> Asking | Typing | AlreadyReported | Refused:
    """记为红牌候选 under a check's answer: a card waiting for its department (or, pressed again, the step or
    card this check already has)."""
    member = _cadre(session, actor)
    if isinstance(member, Refused):
        return member
    entry = checklog.get_check(session, check_id)
    if entry is None:
        return Refused(Refusal.STALE)
    if entry.member_id != member.id:
        return Refused(Refusal.NOT_YOURS)
    earlier = redcards.reported_card(session, check_id)
    if earlier is not None:
        return AlreadyReported(earlier.department, earlier.item_id, earlier.count, earlier.status)
    waiting = _waiting_step(session, member.id, check_id)
    if waiting is not None:
        if waiting.kind == TYPED:
            return Typing(waiting.id)
        payload = waiting.payload
        return Asking(waiting.id, payload.get("task") or entry.text, tuple(payload.get("departments") or ()))
    draft = draft_for(kb.check(entry.text), pick, kb)
    if draft is None:
        return Refused(Refusal.NOT_REFUSABLE)
    action = pending.create_pending(
        session, kind=CHOOSE, member_id=member.id, chat_id=actor.chat_id, ttl=STEP_TTL,
        payload={"check_id": check_id, "village_id": member.village_id, "item_id": draft.item_id,
                 "evidence": list(draft.evidence), "departments": list(draft.departments), "task": entry.text},
    )
    return Asking(action.id, entry.text, draft.departments)


def _waiting_step(session: Session, member_id: int, check_id: int) -> Any:
    """The step of this member still waiting for a department of a card from this check, or None."""
    for kind in WAITING_KINDS:
        for action in pending.list_pending(session, member_id=member_id, kind=kind):
            if action.payload.get("check_id") == check_id:
                return action
    return None


# ---------------------------------------------------------------------------------------------- the department


def _take(session: Session, actor: Actor, pending_id: int, kinds: tuple[str, ...]) -> Any:
    """The step, taken (deleted) for this cadre; a Refused if it is not theirs or gone."""
    member = get_member(session, actor.user_id)
    member_id = member.id if member else None
    try:
        action = pending.get_pending(session, pending_id, member_id=member_id, chat_id=actor.chat_id)
    except NotPermitted:
        return Refused(Refusal.NOT_YOURS)
    if action is None or action.kind not in kinds:
        return Refused(Refusal.STALE)
    taken = pending.take_pending(session, pending_id, member_id=member_id, chat_id=actor.chat_id)
    return taken if taken is not None else Refused(Refusal.STALE)  # None: a double tap, the other press has it


def choose_guess(session: Session, kb: KnowledgeBase, actor: Actor, pending_id: int,
                 index: int) -> Saved | AlreadyReported | Refused:
    """A department button (one of the guesses)."""
    action = _take(session, actor, pending_id, (CHOOSE,))
    if isinstance(action, Refused):
        return action
    departments = action.payload.get("departments") or []
    if not 0 <= index < len(departments):
        return Refused(Refusal.STALE)
    return _save(session, kb, actor, action.payload, departments[index])


def choose_other(session: Session, actor: Actor, pending_id: int) -> Typing | Refused:
    """其他(手动输入): the department comes as the next free text."""
    action = _take(session, actor, pending_id, (CHOOSE,))
    if isinstance(action, Refused):
        return action
    typed = pending.create_pending(session, kind=TYPED, member_id=action.member_id, chat_id=actor.chat_id,
                                   ttl=STEP_TTL, payload=action.payload)
    return Typing(typed.id)


def cancel_choice(session: Session, actor: Actor, pending_id: int) -> Cancelled | Refused:
    """取消 under the question (or under the prompt for a typed department)."""
    action = _take(session, actor, pending_id, WAITING_KINDS)
    return action if isinstance(action, Refused) else Cancelled()


def waiting_for_typed(session: Session, actor: Actor) -> bool:
    """Does a card wait for this user to type its department, in this chat? (an indexed look-up by chat)"""
    return pending.latest_pending(session, chat_id=actor.chat_id, kind=TYPED) is not None


def typed_department(session: Session, kb: KnowledgeBase, actor: Actor,
                     text: str) -> Saved | AlreadyReported | NotADepartment | StillWaiting | NothingWaiting | Refused:
    """Free text while a card waits for its department."""
    action = pending.latest_pending(session, chat_id=actor.chat_id, kind=TYPED)
    if action is None:
        return NothingWaiting()
    member = get_member(session, actor.user_id)
    if member is None or member.id != action.member_id:
        return NothingWaiting()
    typed = " ".join((text or "").split())
    if not any(ch.isalnum() for ch in typed):
        return NotADepartment(TypedProblem.EMPTY)
    if reads_as_task(kb, typed):
        return StillWaiting(action.payload.get("task") or "")
    taken = pending.take_pending(session, action.id, member_id=member.id, chat_id=actor.chat_id)
    if taken is None:  # 取消 pressed at the same moment
        return NothingWaiting()
    return _save(session, kb, actor, taken.payload, typed)


def looks_like_a_name(kb: KnowledgeBase, text: str) -> bool:
    """A short known department (or alias: 城管, 派出所), or a noun phrase ending like an organisation's name
    (镇医保办, 蓝天志愿者协会)."""
    if len(text) > DEPARTMENT_MAX or SENTENCE_MARKS.search(text):
        return False
    known = text in kb.departments.names or kb.departments.canonical(text) != text
    return (known and len(text) <= NAME_MAX) or text.endswith(NAME_ENDINGS)


def reads_as_task(kb: KnowledgeBase, text: str) -> bool:
    """Is this free text a new task rather than a department name?"""
    if len(text) > DEPARTMENT_MAX or SENTENCE_MARKS.search(text) or any(word in text for word in TASK_WORDS):
        return True
    if looks_like_a_name(kb, text):
        return False
    if len(text) > NAME_MAX:
        return True
    result = kb.check(text)
    return result.problem is None and result.verdict in TASK_VERDICTS and result.top is not None


def _save(session: Session, kb: KnowledgeBase, actor: Actor, payload: dict[str, Any],
          department: str) -> Saved | AlreadyReported | Refused:
    """Record (or count again) the card; AlreadyReported if its check was reported meanwhile (another press)."""
    member = _cadre(session, actor)
    if isinstance(member, Refused):
        return Refused(Refusal.NOT_CADRE)
    if member.village_id is None or member.village_id != payload.get("village_id"):
        return Refused(Refusal.WRONG_VILLAGE)
    item_id = payload.get("item_id") or NO_ITEM
    try:
        result = redcards.record_red_card(
            session, village_id=member.village_id, department=department,
            department_key=kb.departments.canonical(department), task_text=payload.get("task") or "",
            item_id=item_id, evidence=payload.get("evidence") or (), member_id=member.id,
            check_id=payload.get("check_id"))
    except InvalidInput:
        return Refused(Refusal.STALE)
    if result.already_reported:
        card = result.card
        return AlreadyReported(card.department, card.item_id, card.count, card.status)
    return Saved(result.card.department, item_id, result.card.count)


def cancel_all(session: Session, actor: Actor) -> bool:
    """/cancel: drop every card of this chat still waiting for its department. True if there was one."""
    return sum(pending.delete_pending(session, chat_id=actor.chat_id, kind=kind) for kind in WAITING_KINDS) > 0


# ---------------------------------------------------------------------------------------------- confirm / withdraw


def decide(session: Session, actor: Actor, card_id: int, decision: Decision) -> Decided | Refused:
    """确认 or 撤回 a card of the cadre's village; a withdrawal may be undone for a day."""
    member = get_member(session, actor.user_id)
    if member is None:
        return Refused(Refusal.NOT_PERMITTED)
    card = redcards.get_red_card(session, card_id)
    before = card.status if card is not None else ""
    try:
        if decision == Decision.CONFIRM:
            redcards.confirm_red_card(session, card_id, member)
            return Decided(decision)
        redcards.withdraw_red_card(session, card_id, member)
    except NotFound:
        return Refused(Refusal.CARD_GONE)
    except NotPermitted:
        return Refused(Refusal.NOT_PERMITTED)
    except InvalidTransition as exc:
        return Refused(Refusal.ALREADY, exc.current)
    undo = pending.create_pending(session, kind=UNDO, member_id=member.id, chat_id=actor.chat_id, ttl=UNDO_TTL,
                                  payload={"card_id": card_id, "back_to": before})
    return Decided(decision, undo.id)


def undoable(session: Session, actor: Actor) -> dict[int, int]:
    """card id -> undo id of the withdrawals this cadre may still undo."""
    member = get_member(session, actor.user_id)
    if member is None:
        return {}
    return {int(step.payload["card_id"]): step.id for step in pending.list_pending(session, member_id=member.id, kind=UNDO)}


def undo_withdrawal(session: Session, actor: Actor, undo_id: int) -> Restored | Refused:
    """撤销: the withdrawn card gets back the status it had."""
    action = _take(session, actor, undo_id, (UNDO,))
    if isinstance(action, Refused):
        return action
    member = get_member(session, actor.user_id)
    if member is None:  # the step was theirs, but they have since left
        return Refused(Refusal.NOT_CADRE)
    card_id = int(action.payload["card_id"])
    try:
        card = redcards.restore_red_card(session, card_id, member, action.payload.get("back_to") or "candidate")
    except NotFound:
        return Refused(Refusal.CARD_GONE)
    except (NotPermitted, InvalidInput):
        return Refused(Refusal.NOT_PERMITTED)
    except InvalidTransition as exc:
        return Refused(Refusal.ALREADY, exc.current)
    return Restored(card.id, card.status)


__all__ = [
    "CHOOSE", "TYPED", "UNDO", "AlreadyReported", "Asking", "Cancelled", "Decided", "Decision", "Draft", "NotADepartment",
    "NothingWaiting", "Pick", "Refusal", "Refused", "Restored", "Saved", "StillWaiting", "TypedProblem", "Typing",
    "cancel_all", "cancel_choice", "choose_guess", "choose_other", "decide", "draft_for", "item_is_forbidden",
    "reads_as_task", "start", "typed_department", "undo_withdrawal", "undoable", "waiting_for_typed",
]
