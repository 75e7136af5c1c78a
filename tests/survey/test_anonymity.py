"""Residents' anonymity beyond the tables: slow keys, keys erased once a period closes, no Telegram ID beside survey
content in any log line, scores not readable from the buttons, and a survey that no worker process loses.

Every database test runs on SQLite and on PostgreSQL (fixture `db_url`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import String, Text, func, select

from bot import log_privacy
from bot.router import CadreContext
from flows import survey_rules as R
from handlers import survey as H
from storage import surveys as S
from storage.errors import AlreadyResponded
from storage.models import Base, SurveyAnswer, SurveyResponse
from storage.places import add_town, add_village
from tests.chat import Chat
from tests.survey.conftest import FALLTHROUGH, OTHER_RESIDENT_ID, RESIDENT_ID, TOKEN, StubKB, chat_for
from tests.telegram_transport import RecordingRequest
from texts import survey as T

SECRET = "test-secret-for-anonymity"
SCORE_LABELS = {score: T.SCORE_BUTTON[score] for score in R.SCORES}


# ---------------------------------------------------------------------------------------------- 1. slow keys


def test_the_respondent_and_owner_keys_are_scrypt_keyed_with_the_secret():
    def scrypt(message: str, purpose: str) -> str:
        salt = hmac.new(SECRET.encode(), purpose.encode(), hashlib.sha256).digest()
        return hashlib.scrypt(message.encode(), salt=salt, n=S.SCRYPT_N, r=S.SCRYPT_R, p=S.SCRYPT_P,
                              maxmem=S.SCRYPT_MAXMEM, dklen=32).hex()

    key = S.respondent_key(SECRET, 5_550_001_234, "V1", "2026-11")
    assert key == scrypt("5550001234|V1|2026-11", "respondent")
    assert S.owner_key(SECRET, 5_550_001_234) == scrypt("draft|5550001234", "draft-owner")
    # the HMAC of before costs an attacker nanoseconds per guess; this one 16 MiB and tens of milliseconds
    assert key != hmac.new(SECRET.encode(), b"5550001234|V1|2026-11", hashlib.sha256).hexdigest()
    assert 128 * S.SCRYPT_R * S.SCRYPT_N >= 16 * 2**20
    assert S.respondent_key("another secret", 5_550_001_234, "V1", "2026-11") != key
    assert len(key) == 64 and re.fullmatch(r"[0-9a-f]{64}", key)


# ---------------------------------------------------------------------------------------------- 2. erasure


def _figures(session) -> tuple[list, list]:
    """What the digest reports: answers counted and averaged per period, village and aspect; responses and
    comments counted per period and village."""
    answers = session.execute(
        select(SurveyAnswer.period_id, SurveyAnswer.village_id, SurveyAnswer.aspect_code, func.count(),
               func.avg(SurveyAnswer.score))
        .group_by(SurveyAnswer.period_id, SurveyAnswer.village_id, SurveyAnswer.aspect_code)
        .order_by(SurveyAnswer.period_id, SurveyAnswer.village_id, SurveyAnswer.aspect_code)
    ).all()
    responses = session.execute(
        select(SurveyResponse.period_id, SurveyResponse.village_id, func.count(), func.count(SurveyResponse.comment))
        .group_by(SurveyResponse.period_id, SurveyResponse.village_id)
        .order_by(SurveyResponse.period_id, SurveyResponse.village_id)
    ).all()
    return [tuple(float(v) if i == 4 else v for i, v in enumerate(row)) for row in answers], [tuple(r) for r in responses]


def _every_text_value(session) -> list[str]:
    """Every string stored in any text column of any table (JSON payloads as their text)."""
    values: list[str] = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)).mappings():
            for column in table.columns:
                value = row[column.name]
                if isinstance(column.type, (String, Text)) and isinstance(value, str):
                    values.append(value)
                elif isinstance(value, (dict, list)):
                    values.append(repr(value))
    return values


def test_closing_a_period_erases_every_link_from_its_answers_to_a_person(session):
    add_town(session, "T1", "示范镇")
    v1, v2 = add_village(session, "V1", "东湖村", "T1"), add_village(session, "V2", "西山村", "T1")
    today = S.period_spec(None).starts_on + timedelta(days=3)
    closed = S.ensure_period(session, S.previous_period_spec(S.period_spec(today)))
    current = S.ensure_period(session, S.period_spec(today))
    people = [5_550_000_000 + i for i in range(6)]
    for i, person in enumerate(people):
        for period in (closed, current):
            village = v1 if i % 2 else v2
            S.submit_response(session, respondent_key=S.respondent_key(SECRET, person, village.code, period.code),
                              village_id=village.id, period_id=period.id,
                              answers={"service": 1 + i % 5, "overall": 5 - i % 3},
                              comment="路灯坏了" if i % 3 == 0 else None, day=period.starts_on)
    # one resident left a survey of the closed period half done
    S.save_draft(session, respondent_key=S.respondent_key(SECRET, people[0], "V1", closed.code),
                 owner_key=S.owner_key(SECRET, people[0]), village_id=v1.id, period_id=closed.id,
                 answers={"service": 2})
    session.flush()
    before = _figures(session)

    erased = S.erase_closed_keys(session, today=today)

    assert (erased.keys, erased.drafts) == (len(people), 1)
    stored = _every_text_value(session)
    for i, person in enumerate(people):
        village = v1 if i % 2 else v2
        key = S.respondent_key(SECRET, person, village.code, closed.code)
        assert S.get_response(session, key) is None  # the secret no longer finds the answer
        assert not [value for value in stored if key in value or S.owner_key(SECRET, person) in value]
        assert not [value for value in stored if str(person) in value]
        # the open period is untouched: one answer per person still, its UNIQUE key still refuses a second
        open_key = S.respondent_key(SECRET, person, village.code, current.code)
        assert S.get_response(session, open_key) is not None
        with pytest.raises(AlreadyResponded):
            S.submit_response(session, respondent_key=open_key, village_id=village.id, period_id=current.id,
                              answers={"service": 3})
    assert _figures(session) == before  # the counts and averages the digest shows are the same
    assert S.erase_closed_keys(session, today=today) == S.Erased(0, 0)  # daily runs change nothing more


async def test_the_bot_erases_the_keys_every_day(start_bot, session_factory, db_settings, town):
    app = await start_bot(job_queue=True)
    [job] = app.job_queue.get_jobs_by_name(H.ERASE_JOB)
    secret = db_settings.secret.get_secret_value()
    with session_factory() as s:
        old = S.ensure_period(s, S.previous_period_spec(S.period_spec(None)))
        key = S.respondent_key(secret, RESIDENT_ID, "V1", old.code)
        S.submit_response(s, respondent_key=key, village_id=town.village_ids["V1"], period_id=old.id,
                          answers={"service": 4}, day=old.ends_on)
        s.commit()
    await job.callback(CadreContext(app))
    with session_factory() as s:
        [response] = s.scalars(select(SurveyResponse))
        assert response.respondent_key is None and response.scores == {"service": 4}


def test_the_cli_erases_the_keys(tmp_path, monkeypatch, capsys):
    from bot.cli import main
    from storage.db import Database

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("CADREBOT_DATA_DIR", str(tmp_path / "data"))
    assert main(["db", "upgrade"]) == 0
    db = Database(f"sqlite:///{tmp_path / 'data' / 'cadrebot.db'}")
    try:
        with db.session() as s:
            add_town(s, "T1", "示范镇")
            village = add_village(s, "V1", "东湖村", "T1")
            old = S.ensure_period(s, S.previous_period_spec(S.period_spec(None)))
            S.submit_response(s, respondent_key=S.respondent_key(SECRET, RESIDENT_ID, "V1", old.code),
                              village_id=village.id, period_id=old.id, answers={"service": 4}, day=old.ends_on)
        capsys.readouterr()
        assert main(["admin", "erase-survey-keys"]) == 0
        assert "抹去 1 个匿名键" in capsys.readouterr().out
        with db.session() as s:
            assert s.scalar(select(SurveyResponse.respondent_key)) is None
    finally:
        db.dispose()


# ---------------------------------------------------------------------------------------------- 3. logs


async def test_no_log_line_puts_the_residents_id_beside_their_answers(start_bot, resident, caplog):
    app = await start_bot()  # (it sets httpx to WARNING, as in production: DEBUG again below)
    caplog.set_level(logging.DEBUG)  # the root logger and pytest's handler
    for name in ("telegram", "telegram.ext", "httpx", "httpcore", "apscheduler", "cadrebot", "handlers", "bot"):
        caplog.set_level(logging.DEBUG, logger=name)
    uninstall = log_privacy.install()  # as bot/cli_run.py does once logging is configured
    try:
        aunt = resident(app)
        comment = "东湖路口的路灯坏了三个星期"
        pressed: list[str] = []
        await aunt.send_command("survey", "V1")
        for score in (5, 4, 3, 2, 1, 5, 4, 3):
            _, data = aunt.find_button(SCORE_LABELS[score])
            pressed.append(data)
            await aunt.press(SCORE_LABELS[score])
        await aunt.send_text(comment)
        _, data = aunt.find_button(T.SUBMIT_BUTTON)
        pressed.append(data)
        await aunt.press(T.SUBMIT_BUTTON)
        assert T.SUBMITTED in aunt.last_message.text
    finally:
        uninstall()

    content = [comment, *pressed, *SCORE_LABELS.values()]
    messages = [record.getMessage() + (record.exc_text or "") for record in caplog.records]
    assert any(comment in m for m in messages), "PTB logged the comment (at DEBUG): the filter is what protects it"
    leaks = [m for m in messages if str(RESIDENT_ID) in m and any(c in m for c in content)]
    assert leaks == []
    assert str(RESIDENT_ID) not in caplog.text


def test_the_log_filter_hides_ids_in_tracebacks_and_leaves_the_token_to_its_own_filter():
    redactor = log_privacy.RedactTelegramIds(b"k" * 32)
    try:
        raise ValueError(f"chat {RESIDENT_ID} said 路灯坏了")
    except ValueError as error:
        record = logging.LogRecord("telegram.ext", logging.ERROR, __file__, 1, "update from %s: %r", (RESIDENT_ID, "x"),
                                   (type(error), error, error.__traceback__))
    assert redactor.filter(record) is True  # a record is never dropped, only rewritten
    assert str(RESIDENT_ID) not in record.getMessage() and str(RESIDENT_ID) not in record.exc_text
    assert redactor.pseudonym(str(RESIDENT_ID)) in record.getMessage()  # one user's lines still go together
    assert record.exc_info is None  # only the redacted text goes on: nothing renders the traceback again
    token = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawx"
    assert redactor.redact(f"POST /bot{token}/sendMessage {token} group -1001234567890") == (
        f"POST /bot{token}/sendMessage {token} group {redactor.pseudonym('-1001234567890')}")


# ---------------------------------------------------------------------------------------------- 4. buttons


def _code(data: str) -> str:
    return data.rsplit(":", 1)[1]


async def test_the_score_cannot_be_read_from_a_buttons_data(start_bot, resident, session_factory):
    app = await start_bot()
    codes: dict[int | None, set[str]] = {score: set() for score in (*R.SCORES, None)}
    pressed: list[dict[str, int]] = []
    for person in range(3):
        chat = chat_for(app, user_id=RESIDENT_ID + person)
        await chat.send_command("survey", "V1")
        scores: dict[str, int] = {}
        for step, aspect in enumerate(S.DEFAULT_ASPECTS):
            question = chat.last_message
            data = dict(row[0] for row in question.buttons)
            assert len({_code(d) for d in data.values()}) == 6, "six buttons, six codes"
            for label, d in data.items():
                assert len(d.encode()) <= 64 and not re.search(r":[1-5s]$", d), f"{label}: {d}"
                score = next((s for s, lbl in SCORE_LABELS.items() if lbl == label), None)
                codes[score].add(_code(d))
            score = (person + step) % 5 + 1
            scores[aspect.code] = score
            await chat.press(SCORE_LABELS[score])
        pressed.append(scores)
        await chat.press(T.SKIP_BUTTON)
        await chat.press(T.SUBMIT_BUTTON)
        assert T.SUBMITTED in chat.last_message.text
    # 24 questions: every score travelled as several different codes
    assert all(len(seen) >= 3 for seen in codes.values()), codes
    with session_factory() as s:
        stored = sorted((r.scores for r in s.scalars(select(SurveyResponse))), key=lambda d: sorted(d.items()))
    assert stored == sorted(pressed, key=lambda d: sorted(d.items()))  # each answer landed as pressed


# ---------------------------------------------------------------------------------------------- 5 and 6. workers


@pytest.fixture
async def workers(engine, db_url, db_settings, town):
    """Two Applications on one database and one Telegram: two worker processes of one bot."""
    from telegram.ext import MessageHandler, filters

    from bot.app import build_application
    from bot.ratelimit import RateLimiter
    from storage.db import Database
    from tests.survey.conftest import _fallthrough

    transport = RecordingRequest()
    running = []
    for _ in range(2):
        db = Database(db_url)
        app = build_application(db_settings, token=TOKEN, request=transport, db=db, kb=StubKB(), rate_limiter=None,
                                job_queue=False, set_commands=False,
                                handler_modules=("handlers.start", "handlers.survey"), limiter=RateLimiter())
        app.add_handler(MessageHandler(filters.ALL & ~filters.COMMAND, _fallthrough), group=5)
        await app.initialize()
        running.append((app, db))
    yield transport, [app for app, _ in running]
    for app, db in running:
        await app.shutdown()
        db.dispose()


async def test_a_survey_goes_on_in_another_worker_after_a_failed_send(workers):
    transport, (first, second) = workers
    on_first, on_second = (Chat(app, transport, user_id=RESIDENT_ID, first_name="李阿姨") for app in (first, second))
    passer_by = Chat(second, transport, user_id=OTHER_RESIDENT_ID, first_name="张大爷")
    await passer_by.send_text("低保怎么申请")  # the second worker has seen messages before the survey opened
    assert FALLTHROUGH in passer_by.last_message.text

    await on_first.send_command("survey", "V1")
    transport.fail_next("sendMessage", status=500)  # the answer is saved; question 2 never reaches the resident
    await on_first.press(SCORE_LABELS[4])
    assert not [m for m in on_first.replies if "第 2/8 题" in m.text and m.buttons]

    await on_second.send_text("怎么没有下一题了")  # any text, to the other worker: the question comes back
    assert FALLTHROUGH not in on_second.last_message.text
    assert "第 2/8 题" in on_second.last_message.text and SCORE_LABELS[5] in on_second.last_message.button_labels
    await on_second.press(SCORE_LABELS[5])
    transport.fail_next("sendMessage", status=500)
    await on_second.press(SCORE_LABELS[3])  # question 4 lost this time
    await on_first.send_command("survey")  # /survey, to the first worker
    assert "第 4/8 题" in on_first.last_message.text and on_first.last_message.buttons

    for _ in range(5):
        await on_first.press(SCORE_LABELS[2])
    prompt = on_first.last_message
    assert T.SKIP_BUTTON in prompt.button_labels  # the comment prompt, sent by the first worker
    await on_second.send_text("垃圾桶不够")  # the comment reaches the second worker
    assert transport.messages[(prompt.chat_id, prompt.message_id)].buttons == []  # it took the 跳过 button off
    await on_second.press(T.SUBMIT_BUTTON)
    assert T.SUBMITTED in on_second.last_message.text


async def test_a_lost_first_question_comes_back_on_the_next_message(start_bot, resident):
    aunt = resident(await start_bot())
    aunt.transport.fail_next("sendMessage", status=500, times=1)
    await aunt.send_command("survey", "V1")  # the introduction failed, the question was never sent
    assert not [m for m in aunt.replies if m.buttons]
    await aunt.send_text("你好")
    assert FALLTHROUGH not in aunt.last_message.text
    assert "第 1/8 题" in aunt.last_message.text and SCORE_LABELS[5] in aunt.last_message.button_labels


async def test_a_message_after_a_lost_comment_prompt_is_not_taken_as_the_comment(start_bot, resident, session_factory):
    aunt = resident(await start_bot())
    await aunt.send_command("survey", "V1")
    for _ in range(7):
        await aunt.press(SCORE_LABELS[4])
    aunt.transport.fail_next("sendMessage", status=500)  # the last answer is saved, the comment prompt is lost
    await aunt.press(SCORE_LABELS[4])
    await aunt.send_text("怎么没反应")
    assert T.COMMENT_PROMPT_AGAIN in aunt.last_message.text and T.SKIP_BUTTON in aunt.last_message.button_labels
    with session_factory() as s:
        [draft] = [S.load_draft(s, owner_key=key) for key in S.draft_owners(s)]
        assert draft.stage == "comment" and draft.comment is None
    await aunt.send_text("路灯坏了")  # now they have seen the prompt: this is the comment
    assert "路灯坏了" in aunt.last_message.text and T.SUBMIT_BUTTON in aunt.last_message.button_labels
