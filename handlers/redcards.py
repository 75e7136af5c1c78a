"""/redcards: a cadre's own village's red-card candidates (confirm / withdraw), a bureau member's town (read-only).

Only in the private chat with the bot: in a group (where residents read along) the command and its buttons get a
short note pointing to the private chat, and nothing is listed.

Buttons (signed for the user, see bot.callbacks):
    rp:<page>                 another page
    rk:<card>:c|w:<page>      confirm / withdraw a card, then show that page again
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot import callbacks
from bot.services import Services, get_services
from texts import errors as E
from texts import redcards as R
from handlers.common import answer, edit, in_group, private_only, who_is
from handlers.errors import quote
from storage import redcards
from storage.errors import DatabaseUnavailable, InvalidTransition, NotFound, NotPermitted
from storage.members import get_member
from storage.models import RedCard
from storage.timeutil import local_date

MAX_PAGE = 10_000


@dataclass(frozen=True)
class Listing:
    text: str
    markup: InlineKeyboardMarkup | None


async def red_cards(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/redcards [page]: the candidates this member may see, newest first."""
    services = get_services(context)
    page = 0
    if context.args:
        number = callbacks.as_int(context.args[0], 1, MAX_PAGE)
        page = number - 1 if number else 0
    try:
        listing = await services.run_db(_listing, services, update.effective_user.id, page)
    except DatabaseUnavailable:
        await update.effective_message.reply_text(E.DB_BUSY)
        return
    await update.effective_message.reply_text(listing.text, reply_markup=listing.markup)


async def on_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """◀ / ▶ under a listing."""
    query = update.callback_query
    services = get_services(context)
    if in_group(query):
        await private_only(update, context)
        return
    parts = callbacks.verify(services.settings.secret, query.from_user.id, query.data, "rp", 1)
    page = callbacks.as_int(parts[0], 0, MAX_PAGE) if parts else None
    if page is None:
        await answer(query, E.BUTTON_INVALID)
        return
    try:
        listing = await services.run_db(_listing, services, query.from_user.id, page)
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    await answer(query)
    await edit(query, listing.text, reply_markup=listing.markup)


async def on_decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """确认 / 撤回 a card, then show the page again."""
    query = update.callback_query
    services = get_services(context)
    if in_group(query):
        await private_only(update, context)
        return
    parts = callbacks.verify(services.settings.secret, query.from_user.id, query.data, "rk", 3)
    card_id = callbacks.as_int(parts[0], 1) if parts else None
    page = callbacks.as_int(parts[2], 0, MAX_PAGE) if parts else None
    if card_id is None or page is None or parts[1] not in ("c", "w"):
        await answer(query, E.BUTTON_INVALID)
        return
    wanted = "confirmed" if parts[1] == "c" else "withdrawn"
    try:
        note, listing = await services.run_db(_decide, services, query.from_user.id, card_id, wanted, page)
    except DatabaseUnavailable:
        await answer(query, E.DB_BUSY_BUTTON, alert=True)
        return
    await answer(query, note)
    if listing is not None:
        await edit(query, listing.text, reply_markup=listing.markup)


def _decide(session: Any, services: Services, user_id: int, card_id: int, wanted: str,
            page: int) -> tuple[str, Listing | None]:
    member = get_member(session, user_id)
    try:
        if member is None:
            raise NotPermitted("not a member")
        change = redcards.confirm_red_card if wanted == "confirmed" else redcards.withdraw_red_card
        change(session, card_id, member)
    except NotFound:
        return R.NOT_FOUND, None
    except NotPermitted:
        return R.NOT_PERMITTED, None
    except InvalidTransition as exc:
        return R.ALREADY.format(status=R.STATUS.get(exc.current, exc.current), action=R.ACTION[wanted]), None
    note = R.CONFIRMED if wanted == "confirmed" else R.WITHDRAWN
    return note, _listing(session, services, user_id, page)


def _listing(session: Any, services: Services, user_id: int, page: int) -> Listing:
    who = who_is(session, user_id)
    if who is None:
        return Listing(R.REFUSED, None)
    if who.role == "cadre" and who.village_id is not None:
        result = redcards.list_red_cards(session, who.village_id, page=page)
        if not result.total:
            return Listing(R.EMPTY_VILLAGE.format(village=who.village_name), None)
        head = R.HEAD_VILLAGE.format(village=who.village_name, total=result.total, page=result.page + 1,
                                     pages=result.pages)
        return render(services, user_id, head, result, decide=True, show_village=False)
    if who.role == "bureau" and who.town_id is not None:
        result = redcards.list_town_red_cards(session, who.town_id, page=page)
        if not result.total:
            return Listing(R.EMPTY_TOWN.format(town=who.town_name), None)
        head = R.HEAD_TOWN.format(town=who.town_name, total=result.total, page=result.page + 1, pages=result.pages)
        return render(services, user_id, head, result, decide=False, show_village=True)
    if who.role == "admin":
        return Listing(R.ADMIN, None)
    return Listing(R.REFUSED, None)


def render(services: Services, user_id: int, head: str, result: redcards.RedCardPage, *, decide: bool,
           show_village: bool) -> Listing:
    """The page as text plus buttons: 确认 n / 撤回 n per card a cadre may still change, then ◀ ▶."""
    secret = services.settings.secret
    lines = [head]
    rows: list[list[InlineKeyboardButton]] = []
    first = result.page * result.page_size
    for n, card in enumerate(result.items, first + 1):
        lines.append(card_line(services, n, card))
        if show_village:
            lines.append(R.LINE_VILLAGE.format(village=card.village.name))
        day = local_date(card.created_at, services.settings.timezone)
        lines.append(R.LINE_TASK.format(task=quote(card.task_text, R.TASK_MAX), day=day.isoformat()))
        if decide:
            buttons = []
            if card.status == "candidate":
                buttons.append(InlineKeyboardButton(
                    R.BTN_CONFIRM.format(n=n), callback_data=callbacks.sign(secret, user_id, "rk", card.id, "c", result.page)))
            if card.status in ("candidate", "confirmed"):
                buttons.append(InlineKeyboardButton(
                    R.BTN_WITHDRAW.format(n=n), callback_data=callbacks.sign(secret, user_id, "rk", card.id, "w", result.page)))
            if buttons:
                rows.append(buttons)
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


def add_handlers(app: Application) -> None:
    """Register /redcards (private chats; a group gets a pointer to the private chat) and its buttons."""
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("redcards", red_cards, filters=private))
    app.add_handler(CommandHandler("redcards", private_only, filters=~private))
    app.add_handler(CallbackQueryHandler(on_page, pattern=r"^rp:"))
    app.add_handler(CallbackQueryHandler(on_decide, pattern=r"^rk:"))


__all__ = ["add_handlers", "card_line", "red_cards", "render"]
