"""The digest in Telegram, through the production factory and the offline RecordingRequest transport:
/subscribe, /unsubscribe, /digest [week], the scheduled weekly send with its XLSX and PNG attachments, the
catch-up at start-up, and two bot processes that must not both send."""

from __future__ import annotations

import asyncio
import io
from datetime import time, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from openpyxl import load_workbook
from PIL import Image

import handlers.digest as H
from storage import digests as store
from storage.db import Database
from tests.chat import Chat
from tests.digest.world import (
    ADMIN_ID,
    BUREAU_T1,
    BUREAU_T2,
    CADRE_BASE,
    NOW,
    STRANGER_ID,
    WEEK,
    local,
    sql,
    sql_one,
)
from tests.telegram_transport import RecordingRequest
from texts import digest as T

TOKEN = "123456:DIGEST-test"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class StubKB:
    """The digest only needs item titles from the knowledge base."""

    items = {"A1": SimpleNamespace(title="村民会议"), "C2": SimpleNamespace(title="居住证明")}

    def check(self, text: str) -> Any:  # pragma: no cover - the task check is not under test here
        raise AssertionError("not used")


@pytest.fixture
def fixed_clock(monkeypatch):
    """Freeze the digest handlers' clock: set(moment)."""
    state = {"now": NOW}
    monkeypatch.setattr(H, "clock", lambda: state["now"])
    return lambda moment: state.__setitem__("now", moment)


@pytest.fixture
async def start_bot(db_url, db_settings, fixed_clock):
    from bot.app import build_application

    running: list[Any] = []

    async def start(*, job_queue: bool = False, settings=None, kb=None, transport=None):
        transport = transport or RecordingRequest()
        db = Database(db_url)
        app = build_application(
            settings or db_settings,
            token=TOKEN,
            request=transport,
            db=db,
            kb=kb or StubKB(),
            rate_limiter=None,
            job_queue=job_queue,
            set_commands=False,
            handler_modules=("handlers.digest",),
        )
        await app.initialize()
        app.bot_data["transport"] = transport
        running.append((app, db))
        return app

    yield start
    for app, db in running:
        try:
            await app.shutdown()
        finally:
            db.dispose()


def chat(app, user_id: int) -> Chat:
    return Chat(app, app.bot_data["transport"], user_id=user_id)


def _services(app):
    from bot.services import get_services

    return get_services(app)


# ---------------------------------------------------------------------------------------------- /subscribe


async def test_bureau_member_subscribes_and_unsubscribes(digest_world, start_bot, session):
    app = await start_bot()
    bureau = chat(app, BUREAU_T1)
    await bureau.send_command("subscribe")
    assert bureau.last_message.text == T.SUBSCRIBED.format(scope="示范镇", weekday="周一", time="08:30")
    rows = sql(session, "SELECT m.telegram_user_id, s.town_id FROM digest_subscriptions s JOIN members m ON m.id = s.member_id")
    assert rows == [(BUREAU_T1, digest_world.towns["T1"])]
    await bureau.send_command("subscribe")
    assert bureau.last_message.text == T.ALREADY_SUBSCRIBED.format(scope="示范镇", weekday="周一", time="08:30")
    assert sql_one(session, "SELECT COUNT(*) FROM digest_subscriptions") == 1
    await bureau.send_command("unsubscribe")
    assert bureau.last_message.text == T.UNSUBSCRIBED
    await bureau.send_command("unsubscribe")
    assert bureau.last_message.text == T.NOT_SUBSCRIBED
    assert sql_one(session, "SELECT COUNT(*) FROM digest_subscriptions") == 0


async def test_subscription_reply_follows_the_configured_schedule(empty_world, start_bot, db_settings):
    app = await start_bot(settings=db_settings.replace(digest_weekday=4, digest_time="17:00"))
    bureau = chat(app, BUREAU_T2)
    await bureau.send_command("subscribe")
    assert bureau.last_message.text == T.SUBSCRIBED.format(scope="清河街道", weekday="周五", time="17:00")


async def test_admin_subscribes_to_the_city(empty_world, start_bot, session):
    app = await start_bot()
    admin = chat(app, ADMIN_ID)
    await admin.send_command("subscribe")
    assert admin.last_message.text == T.SUBSCRIBED.format(scope=T.CITY_NAME, weekday="周一", time="08:30")
    assert sql(session, "SELECT town_id FROM digest_subscriptions") == [(None,)]


@pytest.mark.parametrize("user_id", [CADRE_BASE + 1, STRANGER_ID], ids=["cadre", "unregistered"])
async def test_others_are_refused(digest_world, start_bot, session, user_id):
    app = await start_bot()
    someone = chat(app, user_id)
    for command in ("subscribe", "unsubscribe", "digest"):
        new = await someone.send_command(command)
        assert [m.text for m in new] == [T.BUREAU_ONLY]
    await someone.send_command("digest", WEEK)
    assert someone.last_message.text == T.BUREAU_ONLY
    assert sql_one(session, "SELECT COUNT(*) FROM digest_subscriptions") == 0
    transport = app.bot_data["transport"]
    assert transport.calls_of("sendDocument") == [] and transport.calls_of("sendPhoto") == []


# ---------------------------------------------------------------------------------------------- /digest


def _open_xlsx(message) -> dict[str, list[tuple]]:
    name, data, mime = message.document
    assert name.endswith(".xlsx") and mime == XLSX_MIME
    workbook = load_workbook(io.BytesIO(data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets}


def _overview_value(sheets: dict[str, list[tuple]], label: str) -> tuple:
    return next(row[1:3] for row in sheets["概览"] if row[0] == label)


async def test_digest_for_a_past_week_sends_text_excel_and_chart(digest_world, start_bot, session):
    app = await start_bot()
    bureau = chat(app, BUREAU_T1)
    new = await bureau.send_command("digest", WEEK)
    kinds = [m.kind for m in new]
    assert kinds[-2:] == ["document", "photo"] and set(kinds[:-2]) == {"text"}
    text = "\n".join(m.text for m in new if m.kind == "text")
    assert text.startswith(T.TITLE.format(scope="示范镇"))
    assert "2026-W47（11月16日—11月22日）" in text and "截至" not in text
    assert all(len(m.text) <= 4096 for m in new if m.kind == "text")

    week_start, week_end = local(2026, 11, 16, 0, 0), local(2026, 11, 23, 0, 0)
    checks = sql_one(
        session,
        "SELECT COUNT(*) FROM check_log c JOIN villages v ON v.id = c.village_id "
        "WHERE v.town_id = :t AND c.created_at >= :s AND c.created_at < :e",
        t=digest_world.towns["T1"], s=week_start, e=week_end,
    )
    assert f"本周 {checks} 次" in text
    sheets = _open_xlsx(new[-2])
    assert list(sheets) == list(T.SHEETS)
    assert _overview_value(sheets, T.OV_CHECKS)[0] == checks
    reports = _overview_value(sheets, T.OV_RC_REPORTS)[0]
    assert f"本周上报 {reports} 次" in text
    assert new[-2].caption == T.XLSX_CAPTION.format(scope="示范镇", week=WEEK)
    # item titles come from the knowledge base
    assert "居住证明" in "".join(str(c) for row in sheets["概览"] for c in row if c)

    photo = new[-1]
    name, data, mime = photo.document
    assert name.endswith(".png") and Image.open(io.BytesIO(data)).size == (1200, 1500)


async def test_residents_comments_reach_the_bureau_without_names_or_numbers(digest_world, start_bot):
    """A resident of 清河街道 wrote 我叫李建国，住幸福路88号3栋201室, a cadre of 示范镇 checked 王大爷让社区开居住证明，
    电话13912345678: the bureau members read both, in the message and in the Excel file, with markers instead."""
    app = await start_bot()
    for user_id, line in (
        (BUREAU_T2, f"我叫{T.MASK_NAME}，住幸福路{T.MASK_ADDRESS}，希望多组织活动"),
        (BUREAU_T1, f"{T.MASK_NAME}大爷让社区开居住证明，电话{T.MASK_PHONE}"),
    ):
        new = await chat(app, user_id).send_command("digest", WEEK)
        text = "\n".join(m.text for m in new if m.kind == "text")
        cells = "\n".join(str(c) for rows in _open_xlsx(new[-2]).values() for row in rows for c in row if c)
        for shown in (text, cells):
            assert line in shown
            for gone in ("李建国", "88号", "201室", "王大爷", "13912345678", "13812345678", "320582199001011234"):
                assert gone not in shown, gone


async def test_most_asked_items_are_named_with_their_titles(digest_world, start_bot, session):
    """A bureau member reads "A1 宣传宪法法律和国家政策 N 次", not a bare "A1 N 次": the handler passes the titles
    of the bot's own knowledge base (the real one here, as in production)."""
    import knowledge
    from bot.settings import Settings

    kb = knowledge.from_settings(Settings())
    app = await start_bot(kb=kb)
    bureau = chat(app, BUREAU_T1)
    new = await bureau.send_command("digest", WEEK)
    text = "\n".join(m.text for m in new if m.kind == "text")
    top = sql(
        session,
        "SELECT c.top_item_id, COUNT(*) FROM check_log c JOIN villages v ON v.id = c.village_id "
        "WHERE v.town_id = :t AND c.created_at >= :s AND c.created_at < :e "
        "AND c.top_item_id IS NOT NULL AND c.top_item_id <> '' "
        "GROUP BY c.top_item_id ORDER BY COUNT(*) DESC, c.top_item_id LIMIT 5",
        t=digest_world.towns["T1"], s=local(2026, 11, 16, 0, 0), e=local(2026, 11, 23, 0, 0),
    )
    assert "A1" in dict(top)
    lines = text.split(T.TOP_ITEMS, 1)[1].splitlines()
    for rank, (item_id, count) in enumerate(top, 1):
        title = kb.items[item_id].title
        assert title
        assert lines[rank] == T.TOP_ITEM.format(rank=rank, item=f"{item_id} {title}", count=count)
    assert f"A1 宣传宪法法律和国家政策 {dict(top)['A1']} 次" in text


async def test_digest_without_a_week_is_the_current_week_so_far(digest_world, start_bot, fixed_clock):
    fixed_clock(local(2026, 11, 19, 10, 5))
    app = await start_bot()
    bureau = chat(app, BUREAU_T2)
    new = await bureau.send_command("digest")
    assert new[0].text.startswith(T.TITLE.format(scope="清河街道"))
    assert "2026-W47（11月16日—11月22日）（本周截至 11月19日 10:05）" in new[0].text


@pytest.mark.parametrize("arg", ["上周", "11月18日", "11.18", "2026-11-18", "2026-W47", "2026w47"])
async def test_the_week_can_be_asked_for_as_people_write_it(digest_world, start_bot, arg):
    app = await start_bot()  # the clock stands on Tuesday of W48
    new = await chat(app, BUREAU_T1).send_command("digest", arg)
    assert new[0].text.splitlines()[1] == "2026-W47（11月16日—11月22日）"
    assert [m.kind for m in new][-2:] == ["document", "photo"]


async def test_this_week_and_the_week_before_last(empty_world, start_bot):
    app = await start_bot()
    bureau = chat(app, BUREAU_T1)
    new = await bureau.send_command("digest", "本周")
    assert new[-1].text == T.EMPTY_WEEK.format(scope="示范镇", week="2026-W48", first="11月23日", last="11月29日")
    new = await bureau.send_command("digest", "上上周")
    assert new[-1].text == T.EMPTY_WEEK.format(scope="示范镇", week="2026-W46", first="11月9日", last="11月15日")


@pytest.mark.parametrize("arg", ["下下周", "47", "周报"])
async def test_a_week_that_cannot_be_read_gets_the_forms_it_may_take(empty_world, start_bot, arg):
    app = await start_bot()
    new = await chat(app, BUREAU_T1).send_command("digest", arg)
    assert [m.text for m in new] == [T.BAD_WEEK.format(text=arg)]
    assert "上周" in new[0].text and "2026-W47" in new[0].text  # the reply shows the forms


@pytest.mark.parametrize(
    "arg, reply",
    [
        ("2026-W54", "2026年没有第54周：2026年只有 53 周（2026-W01 到 2026-W53）。"),
        ("2025-W53", "2025年没有第53周：2025年只有 52 周（2025-W01 到 2025-W52）。"),
        ("2026-W00", "2026年没有第0周：2026年只有 53 周（2026-W01 到 2026-W53）。"),
        ("2026-02-30", "2026年没有2月30日这一天，请检查日期。"),
        ("2月30日", "2026年没有2月30日这一天，请检查日期。"),
    ],
)
async def test_a_week_or_day_that_does_not_exist_is_called_so(empty_world, start_bot, arg, reply):
    app = await start_bot()
    new = await chat(app, BUREAU_T1).send_command("digest", arg)
    assert [m.text for m in new] == [reply]
    assert "格式" not in reply and "看不懂" not in reply


async def test_a_future_week_is_refused(empty_world, start_bot):
    app = await start_bot()
    bureau = chat(app, BUREAU_T1)
    new = await bureau.send_command("digest", "2026-W50")
    assert [m.text for m in new] == [T.FUTURE_WEEK.format(week="2026-W50")]
    new = await bureau.send_command("digest", "下周")
    assert [m.text for m in new] == [T.FUTURE_WEEK.format(week="2026-W49")]


async def test_digest_of_an_empty_week_is_one_line_without_attachments(empty_world, start_bot):
    app = await start_bot()
    bureau = chat(app, BUREAU_T1)
    new = await bureau.send_command("digest", WEEK)
    assert [(m.kind, m.text) for m in new] == [
        ("text", T.EMPTY_WEEK.format(scope="示范镇", week=WEEK, first="11月16日", last="11月22日"))
    ]


async def test_a_week_with_nothing_to_draw_comes_without_a_chart(empty_world, start_bot, session):
    """Only a check this week: the text and the Excel report, but no blank picture."""
    from storage.checklog import log_check

    log_check(session, text="街道让我们收医保的钱", verdict="restricted", village_id=empty_world.villages["V1"],
              now=local(2026, 11, 18, 10))
    session.commit()
    app = await start_bot()
    new = await chat(app, BUREAU_T1).send_command("digest", WEEK)
    assert [m.kind for m in new][-1] == "document" and "photo" not in [m.kind for m in new]
    text = "\n".join(m.text for m in new if m.kind == "text")
    assert "本周 1 次" in text and text.endswith(T.SEE_EXCEL_ONLY)


# ---------------------------------------------------------------------------------------------- the weekly send


def _subscribe(session, world, specs):
    for name, at in specs:
        store.subscribe(session, world.members[name], now=at)
    session.commit()


async def test_scheduled_send_delivers_text_excel_and_chart_once(digest_world, start_bot, session):
    _subscribe(session, digest_world, [("bureau1", local(2026, 11, 10, 9)), ("bureau2", local(2026, 11, 18)),
                                       ("admin", local(2026, 11, 18))])
    app = await start_bot()
    transport: RecordingRequest = app.bot_data["transport"]
    sent = await H.send_due_digests(app.bot, _services(app), now=NOW)
    assert sorted((d.scope.key, d.week.iso) for d in sent) == [
        ("city", "2026-W47"), ("town:T1", "2026-W46"), ("town:T1", "2026-W47"), ("town:T2", "2026-W47"),
    ]
    by_chat = {uid: transport.sent(uid) for uid in (BUREAU_T1, BUREAU_T2, ADMIN_ID)}
    # bureau1: W46 then W47, each as text, Excel, chart
    kinds = [m.kind for m in by_chat[BUREAU_T1]]
    assert kinds.count("document") == 2 and kinds.count("photo") == 2
    titles = [m.text.splitlines()[1] for m in by_chat[BUREAU_T1] if m.kind == "text" and m.text.startswith("📊")]
    assert titles == ["2026-W46（11月9日—11月15日）", "2026-W47（11月16日—11月22日）"]
    for uid, scope in ((BUREAU_T2, "清河街道"), (ADMIN_ID, T.CITY_NAME)):
        messages = by_chat[uid]
        assert messages[0].text.startswith(T.TITLE.format(scope=scope))
        assert [m.kind for m in messages][-2:] == ["document", "photo"]
    # the attachments really are the report and the chart
    documents = transport.calls_of("sendDocument")
    uploads = [c for c in documents if c.files]
    assert len(uploads) == 4  # each digest's file is uploaded once
    for call in uploads:
        name, data, _ = call.files["document"]
        assert load_workbook(io.BytesIO(data)).sheetnames == list(T.SHEETS)
    for call in transport.calls_of("sendPhoto"):
        if call.files:
            assert Image.open(io.BytesIO(call.files["photo"][1])).format == "PNG"
    assert sql(session, "SELECT scope, iso_week FROM digest_sends WHERE finished_at IS NOT NULL ORDER BY scope, iso_week") == [
        ("city", "2026-W47"), ("town:T1", "2026-W46"), ("town:T1", "2026-W47"), ("town:T2", "2026-W47"),
    ]
    # a second run (a restart, the next job) sends nothing again
    before = len(transport.calls)
    assert await H.send_due_digests(app.bot, _services(app), now=NOW) == []
    assert len(transport.calls) == before


async def test_scheduled_send_of_an_empty_week_is_one_line(empty_world, start_bot, session):
    _subscribe(session, empty_world, [("bureau1", local(2026, 11, 18))])
    app = await start_bot()
    await H.send_due_digests(app.bot, _services(app), now=NOW)
    messages = app.bot_data["transport"].sent(BUREAU_T1)
    assert [(m.kind, m.text) for m in messages] == [
        ("text", T.EMPTY_WEEK.format(scope="示范镇", week=WEEK, first="11月16日", last="11月22日"))
    ]


async def test_two_bot_processes_send_each_week_once(digest_world, start_bot, session):
    _subscribe(session, digest_world, [("bureau1", local(2026, 11, 10, 9)), ("admin", local(2026, 11, 18))])
    first, second = await start_bot(), await start_bot()
    results = await asyncio.gather(
        H.send_due_digests(first.bot, _services(first), now=NOW),
        H.send_due_digests(second.bot, _services(second), now=NOW),
    )
    sent = sorted((d.scope.key, d.week.iso) for batch in results for d in batch)
    assert sent == [("city", "2026-W47"), ("town:T1", "2026-W46"), ("town:T1", "2026-W47")]
    documents = [m for app in (first, second) for m in app.bot_data["transport"].sent() if m.kind == "document"]
    assert sorted(m.chat_id for m in documents) == sorted([BUREAU_T1, BUREAU_T1, ADMIN_ID])
    assert sql_one(session, "SELECT COUNT(*) FROM digest_sends") == 3


async def test_a_week_that_could_not_be_delivered_is_retried(digest_world, start_bot, session):
    _subscribe(session, digest_world, [("bureau2", local(2026, 11, 18))])
    app = await start_bot()
    transport: RecordingRequest = app.bot_data["transport"]
    transport.fail_next("sendMessage", status=502, description="Bad Gateway")
    assert await H.send_due_digests(app.bot, _services(app), now=NOW) == []
    assert transport.sent(BUREAU_T2) == []
    assert sql(session, "SELECT finished_at FROM digest_sends") == [(None,)]  # not done: the recipient waits
    # the retry comes after the backoff, not at once
    assert await H.send_pending_deliveries(app.bot, _services(app), now=NOW + timedelta(seconds=30)) == []
    assert transport.sent(BUREAU_T2) == []
    sent = await H.send_pending_deliveries(app.bot, _services(app), now=NOW + timedelta(minutes=1))
    assert [(d.scope.key, d.week.iso) for d in sent] == [("town:T2", WEEK)]
    assert [m.kind for m in transport.sent(BUREAU_T2)][-2:] == ["document", "photo"]


async def test_jobs_are_scheduled_and_the_catch_up_sends_missed_weeks(digest_world, start_bot, session, fixed_clock):
    # subscribed in October; the bot was down for weeks: the catch-up sends the last weeks, at most CATCH_UP_WEEKS
    _subscribe(session, digest_world, [("bureau1", local(2026, 10, 1))])
    app = await start_bot(job_queue=True)
    weekly = app.job_queue.get_jobs_by_name(H.WEEKLY_JOB)
    catch_up = app.job_queue.get_jobs_by_name(H.CATCH_UP_JOB)
    assert len(weekly) == 1 and len(catch_up) == 1
    trigger = str(weekly[0].job.trigger)
    assert "day_of_week='mon'" in trigger and "hour='8'" in trigger and "minute='30'" in trigger
    assert "Asia/Shanghai" in str(getattr(weekly[0].job.trigger, "timezone", ""))
    await catch_up[0].run(app)
    weeks = [m.text.splitlines()[1][:8] for m in app.bot_data["transport"].sent(BUREAU_T1)
             if m.kind == "text" and m.text.startswith("📊")]
    assert weeks == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]


async def test_the_weekly_job_follows_the_configured_day_and_time(empty_world, start_bot, db_settings):
    app = await start_bot(job_queue=True, settings=db_settings.replace(digest_weekday=4, digest_time="17:45"))
    trigger = str(app.job_queue.get_jobs_by_name(H.WEEKLY_JOB)[0].job.trigger)
    assert "day_of_week='fri'" in trigger and "hour='17'" in trigger and "minute='45'" in trigger
    assert time(17, 45) == H.parse_time("17:45")


async def test_without_a_cjk_font_the_digest_still_goes_out_without_the_chart(digest_world, start_bot, monkeypatch):
    import bot.digest.chart as chart
    from bot.digest.fonts import FontMissing

    def missing():
        raise FontMissing("no CJK font")

    monkeypatch.setattr(chart, "find_cjk_font", missing)
    app = await start_bot()
    new = await chat(app, BUREAU_T1).send_command("digest", WEEK)
    assert [m.kind for m in new][-1] == "document" and "photo" not in [m.kind for m in new]
    assert new[0].text.startswith(T.TITLE.format(scope="示范镇"))


# ---------------------------------------------------------------------------------------------- retries per recipient


def _deliveries(session) -> list[tuple]:
    """(recipient, status, attempts, last error) of every delivery, by recipient."""
    session.expire_all()
    return sql(session, "SELECT chat_id, status, attempts, last_error FROM digest_deliveries ORDER BY chat_id")


def _week_finished(session) -> bool:
    return sql_one(session, "SELECT finished_at FROM digest_sends WHERE iso_week = :w", w=WEEK) is not None


class FlakyChats(RecordingRequest):
    """Answers 502 Bad Gateway to whatever is sent to the chats in `down` (a recipient Telegram cannot reach)."""

    def __init__(self, down: set[int] | None = None, description: str = "Bad Gateway") -> None:
        super().__init__()
        self.down = set(down or ())
        self.description = description

    def _answer(self, method: str, params: dict, files: dict) -> Any:
        from tests.telegram_transport import TelegramRefusal

        if method.startswith("send") and int(params.get("chat_id") or 0) in self.down:
            raise TelegramRefusal(502, self.description)
        return super()._answer(method, params, files)


BUREAU_T1_B = 8_100_000_101  # a second bureau member of 示范镇


def _second_bureau_member(session):
    from storage.members import issue_invite, redeem_invite

    invite = issue_invite(session, role="bureau", town_code="T1")
    member = redeem_invite(session, invite.code, telegram_user_id=BUREAU_T1_B, display_name="bureau1b")
    store.subscribe(session, member, now=local(2026, 11, 18, 12))
    session.commit()


@pytest.mark.parametrize("restart", [False, True], ids=["same-process", "after-restart"])
async def test_a_failed_excel_upload_is_retried_and_the_text_is_not_sent_again(digest_world, start_bot, session,
                                                                                restart):
    _subscribe(session, digest_world, [("bureau1", local(2026, 11, 18))])
    app = await start_bot()
    transports = [app.bot_data["transport"]]
    transports[0].fail_next("sendDocument", status=500, description="Internal Server Error")
    assert await H.send_due_digests(app.bot, _services(app), now=NOW) == []
    texts = [m.text for m in transports[0].sent(BUREAU_T1)]
    assert texts and texts[0].startswith(T.TITLE.format(scope="示范镇"))
    assert [m.kind for m in transports[0].sent(BUREAU_T1)] == ["text"] * len(texts)  # no Excel, no chart yet
    assert _deliveries(session) == [(BUREAU_T1, "retrying", 1, "NetworkError: Internal Server Error")]
    assert not _week_finished(session)
    if restart:  # the bot is restarted before the retry: a new Application on the same database
        await app.shutdown()
        app = await start_bot()
        transports.append(app.bot_data["transport"])
    # the catch-up after start-up and the retry job both find the delivery; only one of them sends
    sent = await H.send_due_digests(app.bot, _services(app), now=NOW + timedelta(minutes=1))
    assert [(d.scope.key, d.week.iso) for d in sent] == [("town:T1", WEEK)]
    assert await H.send_pending_deliveries(app.bot, _services(app), now=NOW + timedelta(minutes=2)) == []
    received = [m for t in transports for m in t.sent(BUREAU_T1)]
    assert [m.text for m in received if m.kind == "text"] == texts  # the text exactly once
    assert [m.kind for m in received][len(texts):] == ["document", "photo"]  # then the Excel file and chart, once
    assert load_workbook(io.BytesIO(received[len(texts)].document[1])).sheetnames == list(T.SHEETS)
    assert _deliveries(session) == [(BUREAU_T1, "sent", 2, "NetworkError: Internal Server Error")]
    assert _week_finished(session)


async def test_an_unreachable_recipient_gets_the_digest_after_recovery_and_holds_up_nobody(
    digest_world, start_bot, session
):
    _subscribe(session, digest_world, [("bureau1", local(2026, 11, 18))])
    _second_bureau_member(session)
    token_url = f"Bad Gateway (https://api.telegram.org/bot{TOKEN}/sendMessage)"
    app = await start_bot(transport=FlakyChats(down={BUREAU_T1}, description=token_url))
    transport = app.bot_data["transport"]
    # the unreachable one comes first: the other still gets everything in the same run
    assert await H.send_due_digests(app.bot, _services(app), now=NOW) == []
    other = [m.kind for m in transport.sent(BUREAU_T1_B)]
    assert other[-2:] == ["document", "photo"] and set(other[:-2]) == {"text"}
    assert transport.sent(BUREAU_T1) == []
    error = "NetworkError: Bad Gateway (https://api.telegram.org/bot<token>/sendMessage)"
    assert _deliveries(session) == [(BUREAU_T1, "retrying", 1, error), (BUREAU_T1_B, "sent", 1, None)]
    assert not _week_finished(session)  # not done while one recipient waits
    # still unreachable a minute later: the next try is after five more minutes
    assert await H.send_pending_deliveries(app.bot, _services(app), now=NOW + timedelta(minutes=1)) == []
    assert _deliveries(session)[0][1:3] == ("retrying", 2)
    assert await H.send_pending_deliveries(app.bot, _services(app), now=NOW + timedelta(minutes=5)) == []
    assert _deliveries(session)[0][1:3] == ("retrying", 2)
    # Telegram is reachable again, and the bot was restarted meanwhile
    await app.shutdown()
    app = await start_bot()
    later = app.bot_data["transport"]
    sent = await H.send_due_digests(app.bot, _services(app), now=NOW + timedelta(minutes=6))
    assert [(d.scope.key, d.week.iso) for d in sent] == [("town:T1", WEEK)]
    assert [m.kind for m in later.sent(BUREAU_T1)] == other  # everything, once
    assert later.sent(BUREAU_T1_B) == []  # nothing twice
    assert [row[1] for row in _deliveries(session)] == ["sent", "sent"]
    assert _week_finished(session)
    assert TOKEN not in str(sql(session, "SELECT last_error FROM digest_deliveries"))


async def test_a_recipient_that_stays_unreachable_is_given_up_with_a_log_line(digest_world, start_bot, session,
                                                                               caplog):
    from bot.digest.delivery import MAX_ATTEMPTS, RETRY_DELAYS

    _subscribe(session, digest_world, [("bureau1", local(2026, 11, 18))])
    _second_bureau_member(session)
    app = await start_bot(transport=FlakyChats(down={BUREAU_T1}))
    moment = NOW
    await H.send_due_digests(app.bot, _services(app), now=moment)
    for delay in RETRY_DELAYS:
        assert not _week_finished(session)
        moment += delay
        await H.send_pending_deliveries(app.bot, _services(app), now=moment)
    assert _deliveries(session)[0][:3] == (BUREAU_T1, "given_up", MAX_ATTEMPTS)
    assert f"digest town:T1 {WEEK} to {BUREAU_T1}: given up after {MAX_ATTEMPTS} attempt(s)" in caplog.text
    assert _week_finished(session)  # nobody is waiting any more
    calls = len(app.bot_data["transport"].calls)
    await H.send_pending_deliveries(app.bot, _services(app), now=moment + timedelta(days=1))
    assert len(app.bot_data["transport"].calls) == calls


async def test_a_recipient_who_blocked_the_bot_is_given_up_at_once(digest_world, start_bot, session):
    _subscribe(session, digest_world, [("bureau1", local(2026, 11, 18))])
    _second_bureau_member(session)
    app = await start_bot()
    transport = app.bot_data["transport"]
    transport.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    sent = await H.send_due_digests(app.bot, _services(app), now=NOW)
    assert [(d.scope.key, d.week.iso) for d in sent] == [("town:T1", WEEK)]
    assert _deliveries(session) == [(BUREAU_T1, "given_up", 1, "Forbidden: Forbidden: bot was blocked by the user"),
                                    (BUREAU_T1_B, "sent", 1, None)]
    assert [m.kind for m in transport.sent(BUREAU_T1_B)][-2:] == ["document", "photo"]


async def test_a_flood_wait_longer_than_the_backoff_is_honoured(digest_world, start_bot, session):
    _subscribe(session, digest_world, [("bureau1", local(2026, 11, 18))])
    app = await start_bot()
    transport = app.bot_data["transport"]
    transport.fail_next("sendPhoto", status=429, retry_after=600)
    await H.send_due_digests(app.bot, _services(app), now=NOW)
    assert [m.kind for m in transport.sent(BUREAU_T1)][-1] == "document"
    assert await H.send_pending_deliveries(app.bot, _services(app), now=NOW + timedelta(minutes=5)) == []
    assert await H.send_pending_deliveries(app.bot, _services(app), now=NOW + timedelta(minutes=10))
    kinds = [m.kind for m in transport.sent(BUREAU_T1)]
    assert kinds.count("document") == 1 and kinds.count("photo") == 1 and kinds[-1] == "photo"


async def test_two_processes_retrying_at_once_send_the_missing_part_once(digest_world, start_bot, session):
    _subscribe(session, digest_world, [("bureau1", local(2026, 11, 18)), ("admin", local(2026, 11, 18))])
    _second_bureau_member(session)
    first = await start_bot()
    first.bot_data["transport"].fail_next("sendDocument", status=500, times=3)
    await H.send_due_digests(first.bot, _services(first), now=NOW)
    assert [row[1] for row in _deliveries(session)] == ["retrying", "retrying", "retrying"]
    second = await start_bot()
    later = NOW + timedelta(minutes=1)
    results = await asyncio.gather(H.send_pending_deliveries(first.bot, _services(first), now=later),
                                   H.send_pending_deliveries(second.bot, _services(second), now=later))
    assert sorted((d.scope.key, d.week.iso) for batch in results for d in batch) == [("city", WEEK), ("town:T1", WEEK)]
    for uid in (BUREAU_T1, BUREAU_T1_B, ADMIN_ID):
        kinds = [m.kind for app in (first, second) for m in app.bot_data["transport"].sent(uid)]
        assert kinds.count("document") == 1 and kinds.count("photo") == 1, uid
        assert kinds[0] == "text" and kinds.count("text") == len(kinds) - 2


async def test_the_retry_job_is_scheduled_and_sends_what_failed(digest_world, start_bot, session, fixed_clock):
    _subscribe(session, digest_world, [("bureau1", local(2026, 11, 18))])
    app = await start_bot(job_queue=True)
    [retry] = app.job_queue.get_jobs_by_name(H.RETRY_JOB)
    transport = app.bot_data["transport"]
    transport.fail_next("sendDocument", status=500)
    await H.send_due_digests(app.bot, _services(app), now=NOW)
    await retry.run(app)  # too early: the backoff has not passed
    assert [m.kind for m in transport.sent(BUREAU_T1)].count("document") == 0
    fixed_clock(NOW + timedelta(minutes=1))
    await retry.run(app)
    kinds = [m.kind for m in transport.sent(BUREAU_T1)]
    assert kinds[-2:] == ["document", "photo"] and kinds.count("document") == 1
