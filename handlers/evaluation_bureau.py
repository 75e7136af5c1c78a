"""/evaluation for the bureau (民政办) and admins, in Telegram: thin handlers over flows/evaluation_bureau.py.

    /evaluation [TOWN]                              the open round's progress and its buttons, or how to open one
    /evaluation open [TOWN] 2026H2 2027-01-15       open a round (an admin names the town)
    /evaluation pay 村代码或村名 事项编号 金额 [备注]   record a fee payment
    a filled scoring form (.xlsx) sent as a document  imported (all rows or none)

Buttons (signed for the user, see bot.callbacks): eb:<round id>:<action> (Action). The scoring form comes
through the router (FORM_STEP, bot/wiring.py STEPS) like any private message. The reminder job
(`reminder_job`, every REMINDER_POLL_SECONDS, bot/wiring.py) sends the reminders that are due.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

from telegram import CallbackQuery, Document, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from bot import callbacks
from bot.digest.fonts import FontMissing, find_cjk_font
from bot.router import ActiveStep, CadreContext
from bot.services import Services
from flows import evaluation_bureau as flow
from flows.evaluation.basis import EvaluationBasis
from flows.evaluation.dossier_model import outstanding, yuan
from flows.evaluation.score_form import RowError, write_score_form
from handlers.common import Who, answer, edit, evaluation_basis, in_group, private_only
from storage.errors import DatabaseUnavailable, StorageError
from storage.members import invite_link
from storage.models import utcnow
from storage.timeutil import local_date, local_now
from texts import errors as E
from texts import evaluation_bureau as T

log = logging.getLogger(__name__)

PREFIX = "eb"
BUTTON_PATTERN = rf"^{PREFIX}:"
REMINDER_JOB = "evaluation-reminders"
REMINDER_POLL_SECONDS = 60.0
FORM_MAX_BYTES = 5 * 1024 * 1024  # a filled form of a town is some tens of kB
TEXT_MAX = 3900  # below Telegram's 4096, room for the lines around a list
NAMES_SHOWN = 30


class Action(StrEnum):
    DOSSIER = "d"
    FORM = "f"
    REMIND = "r"
    LEDGER = "l"
    CLOSE = "c"
    CLOSE_CONFIRM = "y"
    CLOSE_CANCEL = "n"


def basis_of(services: Services) -> EvaluationBasis:
    return evaluation_basis(services)


def _today(services: Services) -> date:
    return local_date(utcnow(), services.settings.timezone)


def refusal_text(refused: flow.Refused) -> str:
    reason, detail = refused.reason, refused.detail
    texts = {
        flow.Refusal.NOT_BUREAU: T.NOT_BUREAU,
        flow.Refusal.NEEDS_TOWN: T.NEEDS_TOWN,
        flow.Refusal.UNKNOWN_TOWN: T.UNKNOWN_TOWN.format(code=detail),
        flow.Refusal.NO_AGREEMENT: T.NO_AGREEMENT.format(town=detail),
        flow.Refusal.ROUND_GONE: T.ROUND_GONE,
        flow.Refusal.NO_ROUND: T.PAY_NO_ROUND.format(town=detail),
        flow.Refusal.ALREADY_OPEN: T.ALREADY_OPEN.format(label=detail),
        flow.Refusal.OPEN_USAGE: T.OPEN_USAGE_ADMIN if detail == "admin" else T.OPEN_USAGE,
        flow.Refusal.BAD_DATE: T.BAD_DATE.format(text=detail),
        flow.Refusal.PAY_USAGE: T.PAY_USAGE,
        flow.Refusal.UNKNOWN_VILLAGE: T.PAY_UNKNOWN_VILLAGE.format(town=refused.town_name, text=detail),
        flow.Refusal.UNKNOWN_ITEM: T.PAY_UNKNOWN_ITEM.format(text=detail),
        flow.Refusal.BAD_AMOUNT: T.PAY_BAD_AMOUNT.format(text=detail),
        flow.Refusal.INVITE_USAGE: T.INVITE_USAGE,
        flow.Refusal.NOT_AGREED_DEPARTMENT: T.NOT_AGREED_DEPARTMENT.format(text=detail, departments=refused.town_name),
        flow.Refusal.INVALID: detail,
    }
    return texts[reason]


def _names(names: tuple[str, ...]) -> str:
    shown = T.NAMES_SEP.join(names[:NAMES_SHOWN])
    return shown + (T.NAMES_SEP + "…" if len(names) > NAMES_SHOWN else "")


def _button(services: Services, user_id: int, round_id: int, action: Action, label: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=callbacks.sign(services.secret, user_id, PREFIX, round_id, action))


def status_view(services: Services, user_id: int, view: flow.OpenView | flow.NoOpenRound) -> tuple[str, InlineKeyboardMarkup | None]:
    """The status message and its buttons."""
    if isinstance(view, flow.NoOpenRound):
        lines = []
        if view.latest is None:
            lines.append(T.NO_ROUND_YET.format(town=view.town_name))
        else:
            lines.append(T.LAST_ROUND.format(town=view.town_name, label=view.latest.label,
                                             status=T.STATUS_WORD[view.latest.status], deadline=view.latest.deadline))
        lines.append(T.HOW_TO_OPEN_ADMIN.format(town=view.town_code) if view.is_admin else T.HOW_TO_OPEN)
        if view.latest is None:
            return "\n".join(lines), None
        rid = view.latest.round_id
        keyboard = InlineKeyboardMarkup([[_button(services, user_id, rid, Action.DOSSIER, T.BTN_DOSSIER),
                                          _button(services, user_id, rid, Action.LEDGER, T.BTN_LEDGER)]])
        return "\n".join(lines), keyboard
    info = view.round
    lines = [T.STATUS.format(town=view.town_name, label=info.label, deadline=info.deadline,
                             villages_done=view.villages_done, villages_total=view.villages_total,
                             departments_done=view.departments_done, departments_total=view.departments_total)]
    if view.unfinished_villages:
        lines.append(T.UNFINISHED_VILLAGES.format(names=_names(view.unfinished_villages)))
    if view.unfinished_departments:
        lines.append(T.UNFINISHED_DEPARTMENTS.format(names=_names(view.unfinished_departments)))
    lines += [T.PAY_HINT, T.IMPORT_HINT]
    rid = info.round_id
    keyboard = InlineKeyboardMarkup([
        [_button(services, user_id, rid, Action.DOSSIER, T.BTN_DOSSIER),
         _button(services, user_id, rid, Action.FORM, T.BTN_FORM)],
        [_button(services, user_id, rid, Action.REMIND, T.BTN_REMIND),
         _button(services, user_id, rid, Action.LEDGER, T.BTN_LEDGER)],
        [_button(services, user_id, rid, Action.CLOSE, T.BTN_CLOSE)],
    ])
    return "\n".join(lines), keyboard


# ---------------------------------------------------------------------------------------------- the command


@dataclass(frozen=True)
class Said:
    """A command as received: its message and sender (both present for a private chat's command)."""

    message: Message
    user_id: int


async def command(update: Update, context: CadreContext, who: Who) -> None:
    """/evaluation for a bureau member or an admin (handlers.evaluation dispatches here)."""
    if update.effective_message is None or update.effective_user is None:
        return
    said = Said(update.effective_message, update.effective_user.id)
    args = list(context.args or [])
    verb = args[0].lower() if args else ""
    try:
        if verb == "open":
            await _open(said, context, args[1:])
        elif verb == "pay":
            await _pay(said, context, args[1:])
        elif verb == "invite":
            await _invite(said, context, args[1:])
        else:
            await _status(said, context, args[0] if args else None)
    except DatabaseUnavailable:
        await said.message.reply_text(E.DB_BUSY)


async def _status(said: Said, context: CadreContext, town_code: str | None) -> None:
    services = context.services
    view = await services.run_db(flow.overview, basis_of(services), said.user_id, town_code)
    if isinstance(view, flow.Refused):
        await said.message.reply_text(refusal_text(view))
        return
    text, keyboard = status_view(services, said.user_id, view)
    await said.message.reply_text(text, reply_markup=keyboard)


async def _open(said: Said, context: CadreContext, args: list[str]) -> None:
    services = context.services
    opened = await services.run_db(flow.open_new_round, basis_of(services), said.user_id, args, _today(services))
    if isinstance(opened, flow.Refused):
        await said.message.reply_text(refusal_text(opened))
        return
    await said.message.reply_text(
        T.OPENED.format(town=opened.town_name, label=opened.round.label, deadline=opened.round.deadline))
    await _status(said, context, args[0] if len(args) == 3 else None)  # an admin named the town


async def _pay(said: Said, context: CadreContext, args: list[str]) -> None:
    services = context.services
    paid = await services.run_db(flow.record_payment, basis_of(services), said.user_id, args, _today(services))
    if isinstance(paid, flow.Refused):
        await said.message.reply_text(refusal_text(paid))
        return
    await said.message.reply_text(T.PAID.format(
        village=paid.village_name, item_id=paid.item_id, item_title=paid.item_title, amount=yuan(paid.amount_fen),
        label=paid.round.label, due=yuan(paid.due_fen), paid=yuan(paid.paid_fen),
        outstanding=outstanding(paid.outstanding_fen)))


async def _invite(said: Said, context: CadreContext, args: list[str]) -> None:
    """`/evaluation invite 人社局`: an invite code for the department's staff, to pass on to them."""
    services = context.services
    invited = await services.run_db(flow.invite_department, basis_of(services), services.kb.departments.canonical,
                                    said.user_id, args)
    if isinstance(invited, flow.Refused):
        await said.message.reply_text(refusal_text(invited))
        return
    expires = local_now(invited.expires_at, services.settings.timezone).strftime("%Y-%m-%d %H:%M")
    await said.message.reply_text(T.INVITED.format(
        town=invited.town_name, department=invited.department, code=invited.code, expires=expires,
        link=invite_link(context.bot.username or services.settings.bot_username, invited.code)))


# ---------------------------------------------------------------------------------------------- buttons


@dataclass(frozen=True)
class Press:
    """A verified press of one of these buttons: who, in which chat, for which round."""

    query: CallbackQuery
    user_id: int
    chat_id: int
    round_id: int


async def on_button(update: Update, context: CadreContext) -> None:
    query = update.callback_query
    if query is None or query.message is None:  # a button without its message: handled before (wiring)
        return
    services = context.services
    user_id = query.from_user.id
    if in_group(query):  # the bot never sends these into a group: someone else's, or forwarded
        await private_only(update, context)
        return
    parts = callbacks.verify(services.secret, user_id, query.data, PREFIX, 2)
    round_id = callbacks.as_int(parts[0], 1) if parts else None
    action = parts[1] if parts else ""
    if round_id is None or action not in set(Action):
        await answer(query, E.BUTTON_INVALID)
        return
    try:
        await _ACTIONS[Action(action)](Press(query, user_id, query.message.chat.id, round_id), context)
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)


async def _refused(press: Press, refused: flow.Refused) -> None:
    await answer(press.query, refusal_text(refused)[:200], alert=True)


def _font(font_file: str | None) -> tuple[Path, int] | None:
    """The CJK font the PDF embeds (CADREBOT_CJK_FONT, else one the set-up installed); None: the XLSX only."""
    try:
        font = find_cjk_font(font_file)
    except FontMissing:
        return None
    return Path(font.path), font.index


async def _dossier(press: Press, context: CadreContext) -> None:
    services = context.services
    dossier = await services.run_db(flow.dossier_for, basis_of(services), press.user_id, press.round_id)
    if isinstance(dossier, flow.Refused):
        await _refused(press, dossier)
        return
    await answer(press.query, T.DOSSIER_SENDING)
    files = await asyncio.to_thread(flow.render_dossier, dossier, _font(services.settings.cjk_font or None))
    names = {"town": dossier.town_name, "round": dossier.round_code}
    await context.bot.send_document(press.chat_id, files.xlsx, filename=T.DOSSIER_XLSX_NAME.format(**names),
                                    caption=T.DOSSIER_CAPTION.format(town=dossier.town_name,
                                                                     label=dossier.round_label, kind="XLSX"))
    if files.pdf is None:
        await context.bot.send_message(press.chat_id, T.DOSSIER_NO_FONT)
        return
    await context.bot.send_document(press.chat_id, files.pdf, filename=T.DOSSIER_PDF_NAME.format(**names),
                                    caption=T.DOSSIER_CAPTION.format(town=dossier.town_name,
                                                                     label=dossier.round_label, kind="PDF"))


async def _form(press: Press, context: CadreContext) -> None:
    services = context.services
    form = await services.run_db(flow.score_form_for, basis_of(services), press.user_id, press.round_id)
    if isinstance(form, flow.Refused):
        await _refused(press, form)
        return
    await answer(press.query)
    if form.empty:
        await context.bot.send_message(press.chat_id, T.FORM_EMPTY)
        return
    data = await asyncio.to_thread(write_score_form, form.form)
    await context.bot.send_document(press.chat_id, data,
                                    filename=T.FORM_NAME.format(town=form.town_name, round=form.round.code),
                                    caption=T.FORM_CAPTION.format(label=form.round.label))


async def _remind(press: Press, context: CadreContext) -> None:
    services = context.services
    reminded = await services.run_db(flow.ask_reminder, basis_of(services), press.user_id, press.round_id)
    if isinstance(reminded, flow.Refused):
        await _refused(press, reminded)
        return
    if not reminded.people:
        await answer(press.query)
        await context.bot.send_message(press.chat_id, T.REMIND_NOBODY)
        return
    await answer(press.query, T.REMIND_TOAST)
    await context.bot.send_message(press.chat_id, T.REMIND_ASKED.format(
        people=reminded.people, villages=reminded.villages, departments=reminded.departments))


async def _ledger(press: Press, context: CadreContext) -> None:
    services = context.services
    ledger = await services.run_db(flow.fee_ledger, basis_of(services), press.user_id, press.round_id)
    if isinstance(ledger, flow.Refused):
        await _refused(press, ledger)
        return
    await answer(press.query)
    await context.bot.send_message(press.chat_id, ledger_text(ledger))


def ledger_text(ledger: flow.Ledger) -> str:
    total = ledger.total()
    head = T.LEDGER_TITLE.format(town=ledger.town_name, label=ledger.round.label)
    tail = [T.LEDGER_TOTAL.format(due=yuan(total.due_fen), paid=yuan(total.paid_fen),
                                  outstanding=outstanding(total.outstanding_fen)), T.LEDGER_NOTE]
    lines = [T.LEDGER_LINE.format(name=x.name, due=yuan(x.due_fen), paid=yuan(x.paid_fen),
                                  outstanding=outstanding(x.outstanding_fen)) for x in ledger.lines]
    room = TEXT_MAX - len(head) - sum(len(t) + 1 for t in tail)
    return "\n".join([head, *_fitting(lines, T.LEDGER_CUT, room), *tail])


def _fitting(lines: list[str], cut: str, room: int) -> list[str]:
    """As many lines as fit in `room` characters, then `cut` if some were left out."""
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > room - len(cut) - 1:
            return [*kept, cut]
        kept.append(line)
        used += len(line) + 1
    return kept


async def _close(press: Press, context: CadreContext) -> None:
    services = context.services
    asked = await services.run_db(flow.ask_close, basis_of(services), press.user_id, press.round_id)
    if isinstance(asked, flow.Refused):
        await _refused(press, asked)
        return
    await answer(press.query)
    keyboard = InlineKeyboardMarkup([[
        _button(services, press.user_id, press.round_id, Action.CLOSE_CONFIRM, T.BTN_CLOSE_CONFIRM),
        _button(services, press.user_id, press.round_id, Action.CLOSE_CANCEL, T.BTN_CLOSE_CANCEL)]])
    await context.bot.send_message(press.chat_id, T.CLOSE_ASK.format(label=asked.round.label), reply_markup=keyboard)


async def _close_confirm(press: Press, context: CadreContext) -> None:
    services = context.services
    closed = await services.run_db(flow.close, basis_of(services), press.user_id, press.round_id)
    if isinstance(closed, flow.Refused):
        await _refused(press, closed)
        if closed.reason == flow.Refusal.ROUND_GONE:
            await edit(press.query, reply_markup=None)  # a dead keyboard goes away
        return
    await answer(press.query, T.TOAST_DONE)
    await edit(press.query, T.CLOSED.format(town=closed.town_name, label=closed.round.label))


async def _close_cancel(press: Press, context: CadreContext) -> None:
    services = context.services
    still = await services.run_db(flow.check_open, basis_of(services), press.user_id, press.round_id)
    if isinstance(still, flow.Refused):
        await _refused(press, still)
        return
    await answer(press.query, T.TOAST_DONE)
    await edit(press.query, T.CLOSE_CANCELLED)


_ACTIONS: dict[Action, Callable[[Press, CadreContext], Awaitable[None]]] = {
    Action.DOSSIER: _dossier,
    Action.FORM: _form,
    Action.REMIND: _remind,
    Action.LEDGER: _ledger,
    Action.CLOSE: _close,
    Action.CLOSE_CONFIRM: _close_confirm,
    Action.CLOSE_CANCEL: _close_cancel,
}


# ---------------------------------------------------------------------------------------------- the filled form


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _is_xlsx(document: Document) -> bool:
    return (document.file_name or "").lower().endswith(".xlsx") or document.mime_type == XLSX_MIME


async def is_scoring_form(update: Update, context: CadreContext) -> bool:
    """An .xlsx document from a bureau member or an admin: their filled scoring form (the router then gives it to
    `on_scoring_form`). Anyone else's file is not, and gets the reply any file gets."""
    message, user = update.message, update.effective_user
    if message is None or user is None or message.document is None or not _is_xlsx(message.document):
        return False
    try:
        return await context.services.run_db(flow.is_manager_user, user.id)
    except DatabaseUnavailable:
        return True  # who sent it cannot be told now: `on_scoring_form` says to send it again (importing nothing)


async def on_scoring_form(update: Update, context: CadreContext) -> None:
    await _import(update, context)


async def _nothing_to_cancel(update: Update, context: CadreContext) -> bool:
    return False  # an import is over when its reply is sent: nothing waits


FORM_STEP = ActiveStep("evaluation_form", is_waiting=is_scoring_form, on_text=on_scoring_form,
                       on_cancel=_nothing_to_cancel)


async def _import(update: Update, context: CadreContext) -> None:
    services = context.services
    message, user = update.message, update.effective_user
    if message is None or user is None or message.document is None:
        return
    document = message.document
    if document.file_size is not None and document.file_size > FORM_MAX_BYTES:
        await message.reply_text(T.IMPORT_TOO_BIG.format(mb=FORM_MAX_BYTES // (1024 * 1024)))
        return
    try:
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        log.info("could not download a scoring form: %s", exc)
        await message.reply_text(T.IMPORT_DOWNLOAD_FAILED)
        return
    try:
        result = await services.run_db(flow.import_score_form, basis_of(services), user.id, data)
    except DatabaseUnavailable:
        await message.reply_text(T.IMPORT_DB_BUSY)
        return
    except StorageError as exc:  # a refusal while saving: the transaction saved nothing
        await message.reply_text(T.IMPORT_SAVE_FAILED.format(reason=str(exc)[:300]))
        return
    await message.reply_text(import_text(result))


def import_text(result: flow.Imported | flow.FormRejected | flow.Refused) -> str:
    if isinstance(result, flow.Refused):
        if result.reason == flow.Refusal.NO_ROUND:
            return T.IMPORT_NO_ROUND.format(town=result.detail)
        return refusal_text(result)
    if isinstance(result, flow.FormRejected):
        return rejected_text(result.errors)
    if result.scores == 0 and result.bonuses == 0:
        return T.IMPORTED_NOTHING
    return T.IMPORTED.format(scores=result.scores, bonuses=result.bonuses, label=result.round.label)


def rejected_text(errors: tuple[RowError, ...]) -> str:
    """Every error as sheet:row, as many as fit in one message."""
    head = T.IMPORT_REFUSED.format(count=len(errors), errors="")
    lines = [str(e) for e in errors]
    kept: list[str] = []
    used = len(head)
    for index, line in enumerate(lines):
        more = T.IMPORT_MORE_ERRORS.format(count=len(lines) - index)
        if used + len(line) + 1 + len(more) + 1 > TEXT_MAX:
            kept.append(more)
            break
        kept.append(line)
        used += len(line) + 1
    return T.IMPORT_REFUSED.format(count=len(errors), errors="\n".join(kept))


# ---------------------------------------------------------------------------------------------- reminders


def reminder_text(info: flow.RoundInfo, left: int) -> str:
    deadline = T.DEADLINE_SHORT.format(month=info.deadline.month, day=info.deadline.day)
    return T.REMINDER.format(label=info.label, deadline=deadline, left=left)


async def reminder_job(context: CadreContext) -> None:
    """The JobQueue callback: send the reminders that are due (3 days and 1 day before the deadline, or asked
    for by the bureau) to everyone who has not finished."""
    services = context.services
    try:
        batches = await services.run_db(flow.take_due_reminders, basis_of(services))
    except DatabaseUnavailable as exc:
        log.warning("evaluation reminders: database unavailable (%s); the next run tries again", exc)
        return
    for batch in batches:
        for target in batch.targets:
            try:
                await context.bot.send_message(target.telegram_user_id, reminder_text(batch.round, target.left))
            except TelegramError as exc:  # blocked the bot, never started it: the others still get theirs
                log.info("evaluation reminder not delivered to a member: %s", exc)


__all__ = ["BUTTON_PATTERN", "REMINDER_JOB", "REMINDER_POLL_SECONDS", "Action", "basis_of", "command",
           "FORM_STEP", "ledger_text", "on_button", "on_scoring_form", "is_scoring_form", "refusal_text", "rejected_text", "reminder_job",
           "reminder_text", "status_view"]
