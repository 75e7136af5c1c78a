"""/redcards: a cadre's own village's red-card candidates (confirm / withdraw / undo a withdrawal), a bureau
member's town (read-only).

Only in the private chat with the bot: in a group (where residents read along) the command and its buttons get a
short note pointing to the private chat, and nothing is listed.

Buttons (signed for the user, see bot.callbacks):
    rp:<page>                 another page
    rk:<card>:c|w:<page>      confirm / withdraw a card (flows.redcard.Decision), then show that page again
    ru:<undo>:<page>          undo a withdrawal (for a day), then show that page again
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks
from bot.router import CadreContext
from bot.services import Services
from flows import Actor
from flows import redcard as flow
from handlers.common import answer, edit, in_group, private_only, who_is
from handlers.errors import quote
from handlers.redcard import refusal_text
from storage import redcards
from storage.errors import DatabaseUnavailable
from storage.models import ROLE_ADMIN, ROLE_BUREAU, ROLE_CADRE, RedCard
from storage.timeutil import local_date
from texts import errors as E
from texts import redcards as R

MAX_PAGE = 10_000


@dataclass(frozen=True)
class Listing:
    text: str
    markup: InlineKeyboardMarkup | None


async def red_cards(update: Update, context: CadreContext) -> None:
    """/redcards [page]: the candidates this member may see, newest first."""
    services = context.services
    page = 0
    if context.args:
        number = callbacks.as_int(context.args[0], 1, MAX_PAGE)
        page = number - 1 if number else 0
    try:
        listing = await services.run_db(_listing, services, _actor(update), page)
    except DatabaseUnavailable:
        await update.effective_message.reply_text(E.DB_BUSY)
        return
    await update.effective_message.reply_text(listing.text, reply_markup=listing.markup)


async def on_page(update: Update, context: CadreContext) -> None:
    """◀ / ▶ under a listing."""
    query = update.callback_query
    services = context.services
    if in_group(query):
        await private_only(update, context)
        return
    parts = callbacks.verify(services.secret, query.from_user.id, query.data, "rp", 1)
    page = callbacks.as_int(parts[0], 0, MAX_PAGE) if parts else None
    if page is None:
        await answer(query, E.BUTTON_INVALID)
        return
    try:
        listing = await services.run_db(_listing, services, _actor(update), page)
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    await answer(query)
    await edit(query, listing.text, reply_markup=listing.markup)


async def on_decide(update: Update, context: CadreContext) -> None:
    """确认 / 撤回 a card, then show the page again (after 撤回, with its 撤销)."""
    query = update.callback_query
    services = context.services
    if in_group(query):
        await private_only(update, context)
        return
    parts = callbacks.verify(services.secret, query.from_user.id, query.data, "rk", 3)
    card_id = callbacks.as_int(parts[0], 1) if parts else None
    page = callbacks.as_int(parts[2], 0, MAX_PAGE) if parts else None
    if card_id is None or page is None or parts[1] not in set(flow.Decision):
        await answer(query, E.BUTTON_INVALID)
        return
    decision = flow.Decision(parts[1])
    try:
        result, listing = await services.run_db(_decide, services, _actor(update), card_id, decision, page)
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    if isinstance(result, flow.Refused):
        await answer(query, refusal_text(result, WANTED[decision]))
        return
    await answer(query, R.CONFIRMED if decision == flow.Decision.CONFIRM else R.WITHDRAWN_UNDOABLE)
    await edit(query, listing.text, reply_markup=listing.markup)


async def on_undo(update: Update, context: CadreContext) -> None:
    """撤销 under a listing: a withdrawn card gets back the status it had."""
    query = update.callback_query
    services = context.services
    if in_group(query):
        await private_only(update, context)
        return
    parts = callbacks.verify(services.secret, query.from_user.id, query.data, "ru", 2)
    undo_id = callbacks.as_int(parts[0], 1) if parts else None
    page = callbacks.as_int(parts[1], 0, MAX_PAGE) if parts else None
    if undo_id is None or page is None:
        await answer(query, E.BUTTON_INVALID)
        return
    try:
        result, listing = await services.run_db(_undo, services, _actor(update), undo_id, page)
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    if isinstance(result, flow.Refused):
        await answer(query, R.UNDO_EXPIRED if result.reason == flow.Refusal.STALE else refusal_text(result, "restored"))
    else:
        await answer(query, R.RESTORED.format(status=R.STATUS.get(result.status, result.status)))
    await edit(query, listing.text, reply_markup=listing.markup)


WANTED = {flow.Decision.CONFIRM: "confirmed", flow.Decision.WITHDRAW: "withdrawn"}


def _actor(update: Update) -> Actor:
    return Actor(update.effective_user.id, update.effective_chat.id)


def _decide(session: Any, services: Services, actor: Actor, card_id: int, decision: flow.Decision,
            page: int) -> tuple[flow.Decided | flow.Refused, Listing]:
    result = flow.decide(session, actor, card_id, decision)
    return result, _listing(session, services, actor, page)


def _undo(session: Any, services: Services, actor: Actor, undo_id: int,
          page: int) -> tuple[flow.Restored | flow.Refused, Listing]:
    result = flow.undo_withdrawal(session, actor, undo_id)
    return result, _listing(session, services, actor, page)


def _listing(session: Any, services: Services, actor: Actor, page: int) -> Listing:
    who = who_is(session, actor.user_id)
    if who is None:
        return Listing(R.REFUSED, None)
    if who.role == ROLE_CADRE and who.village_id is not None:
        result = redcards.list_red_cards(session, who.village_id, page=page)
        if not result.total:
            return Listing(R.EMPTY_VILLAGE.format(village=who.village_name), None)
        head = R.HEAD_VILLAGE.format(village=who.village_name, total=result.total, page=result.page + 1,
                                     pages=result.pages)
        return render(services, actor.user_id, head, result, decide=True, show_village=False,
                      undo=flow.undoable(session, actor))
    if who.role == ROLE_BUREAU and who.town_id is not None:
        result = redcards.list_town_red_cards(session, who.town_id, page=page)
        if not result.total:
            return Listing(R.EMPTY_TOWN.format(town=who.town_name), None)
        head = R.HEAD_TOWN.format(town=who.town_name, total=result.total, page=result.page + 1, pages=result.pages)
        return render(services, actor.user_id, head, result, decide=False, show_village=True)
    if who.role == ROLE_ADMIN:
        return Listing(R.ADMIN, None)
    return Listing(R.REFUSED, None)


def render(services: Services, user_id: int, head: str, result: redcards.RedCardPage, *, decide: bool,
           show_village: bool, undo: dict[int, int] | None = None) -> Listing:
    """The page as text plus buttons. 确认 n and 撤销 n (undo a withdrawal, for a day) one per row; every 撤回 n in
    a row of its own further down, so that a slip next to 确认 withdraws nothing. Then ◀ ▶."""
    secret = services.secret
    undo = undo or {}
    lines = [head]
    rows: list[list[InlineKeyboardButton]] = []
    withdraw: list[InlineKeyboardButton] = []
    first = result.page * result.page_size
    for n, card in enumerate(result.items, first + 1):
        lines.append(card_line(services, n, card))
        if show_village:
            lines.append(R.LINE_VILLAGE.format(village=card.village.name))
        day = local_date(card.created_at, services.settings.timezone)
        lines.append(R.LINE_TASK.format(task=quote(card.task_text, R.TASK_MAX), day=day.isoformat()))
        if not decide:
            continue
        if card.status == "candidate":
            rows.append([InlineKeyboardButton(R.BTN_CONFIRM.format(n=n), callback_data=callbacks.sign(
                secret, user_id, "rk", card.id, flow.Decision.CONFIRM, result.page))])
        if card.status in ("candidate", "confirmed"):
            withdraw.append(InlineKeyboardButton(R.BTN_WITHDRAW.format(n=n), callback_data=callbacks.sign(
                secret, user_id, "rk", card.id, flow.Decision.WITHDRAW, result.page)))
        if card.status == "withdrawn" and card.id in undo:
            rows.append([InlineKeyboardButton(R.BTN_UNDO.format(n=n), callback_data=callbacks.sign(
                secret, user_id, "ru", undo[card.id], result.page))])
    if withdraw:
        rows.append(withdraw)
    nav = []
    if result.has_prev:
        nav.append(InlineKeyboardButton(R.BTN_PREV, callback_data=callbacks.sign(secret, user_id, "rp", result.page - 1)))
    if result.has_next:
        nav.append(InlineKeyboardButton(R.BTN_NEXT, callback_data=callbacks.sign(secret, user_id, "rp", result.page + 1)))
    if nav:
        rows.append(nav)
    return Listing("\n".join(lines), InlineKeyboardMarkup(rows) if rows else None)


def card_line(services: Services, n: int, card: RedCard) -> str:
    item = services.kb.items.get(card.item_id) if card.item_id else None
    return R.LINE.format(n=n, status=R.STATUS.get(card.status, card.status), department=card.department,
                         item=f"{item.id} {item.title}" if item is not None else R.ITEM_UNLISTED,
                         times=R.TIMES.format(count=card.count) if card.count > 1 else "")


__all__ = ["card_line", "on_decide", "on_page", "on_undo", "red_cards", "render"]
