"""SQLAlchemy 2 models of cadrebot's database.

Tables (one class each):

    towns                 Town              镇/街道, with a short unique code
    villages              Village           村/社区, with a short unique code, in one town
    members               Member            staff bound by Telegram user ID: cadre (village), bureau (town), admin,
                                            department (a department's staff in one town)
    invites               Invite            single-use, expiring registration codes
    invite_attempts       InviteAttempts    wrong invite codes per Telegram user, and the lock-out they lead to
    check_log             CheckLog          every task check: text, verdict, top item, village, time, 👍/👎 feedback
    red_cards             RedCard           red-card candidates; one row per (village, department, item, period)
    red_card_events       RedCardEvent      timeline of a red card: who did what, when
    red_card_reports      RedCardReport     the red card a check was reported as (at most one per check)
    survey_periods        SurveyPeriod      survey periods ('2026-11' monthly or '2026-Q4' quarterly)
    survey_responses      SurveyResponse    one anonymous response per respondent key (HMAC), day only, no Telegram ID
    survey_answers        SurveyAnswer      one score 1-5 per answered aspect of a response (skipped = absent)
    pending_actions       PendingAction     short-lived state of multi-step flows (red-card confirmation, a survey
                                            in progress: the survey's rows are keyed by an HMAC, no Telegram ID)
    digest_subscriptions  DigestSubscription  bureau members who receive the weekly digest
    digest_sends          DigestSend        one row per (scope, ISO week) sent: the database decides idempotency
    digest_deliveries     DigestDelivery    one row per recipient of a (scope, week): which parts arrived, retries
    inbound_updates       InboundUpdate     Telegram updates as they arrived, until handled (storage.intake)
    evaluation_rounds     EvaluationRound   a town's two-way evaluation (双向评估) of a half-year: '2026H2', deadline
    evaluation_reminders  EvaluationReminder  reminders of a round to send (3 days, 1 day before, or asked for)
    evaluation_card_decisions  EvaluationCardDecision  the committee raised or dropped a confirmed candidate
    evaluation_ratings    EvaluationRating  a committee's grade of one department on one aspect
    evaluation_scores     EvaluationScore   a department's 百分制 score of one village on one agreed item
    evaluation_bonuses    EvaluationBonus   a department's bonus points for one village, with the reason
    fee_payments          FeePayment        assistance fees paid to a village for an agreed item (费随事转)
    audit_log             AuditLog          admin actions (CLI or member)

Conventions:
- Every timestamp column is a `UTCDateTime`: stored in UTC, always returned timezone-aware (UTC), on
  SQLite as well as PostgreSQL. Naive datetimes given to it are taken as UTC.
- Place codes are upper-case `[A-Z0-9_-]`; invite codes use an unambiguous alphabet (see storage.members).
- `RedCard.item_id` is '' (NO_ITEM) for an unlisted task, so the unique key also works for those.
- `DigestSend.scope` is 'town:<CODE>' or 'city' (never NULL), so UNIQUE(scope, iso_week) holds on PostgreSQL too.
- Anonymity: survey tables carry no Telegram user ID and no timestamp beyond the day. A survey in progress is a
  pending_actions row with `owner_key` (an HMAC) and neither member_id nor chat_id; it keeps its times only until
  it is submitted, cancelled or expired.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# ---------------------------------------------------------------------------------------------- constants

ROLE_CADRE = "cadre"
ROLE_BUREAU = "bureau"
ROLE_ADMIN = "admin"
ROLE_DEPARTMENT = "department"  # staff of one department in one town: scores the villages in the evaluation
ROLES: tuple[str, ...] = (ROLE_CADRE, ROLE_BUREAU, ROLE_ADMIN, ROLE_DEPARTMENT)

RED_CARD_STATUSES: tuple[str, ...] = ("candidate", "confirmed", "withdrawn", "included")
# restored: a withdrawal undone (back to the status it had), within a day of it
RED_CARD_ACTIONS: tuple[str, ...] = ("created", "reported_again", "confirmed", "withdrawn", "included", "restored")
NO_ITEM = ""  # RedCard.item_id of an unlisted task

DIGEST_SCOPE_CITY = "city"

# Length limits shared with the services.
CODE_MAX = 32
INVITE_CODE_MAX = 16
KEY_LEN = 64  # hex SHA-256


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    PostgreSQL: TIMESTAMP WITH TIME ZONE. SQLite: naive UTC text, so that string comparison orders correctly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime needs a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# ---------------------------------------------------------------------------------------------- places


class Town(Base):
    """A town or street office (镇/街道)."""

    __tablename__ = "towns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(100))

    villages: Mapped[list[Village]] = relationship(back_populates="town", order_by="Village.code")

    def __repr__(self) -> str:
        return f"Town({self.code!r}, {self.name!r})"


class Village(Base):
    """A village or community (村/社区)."""

    __tablename__ = "villages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"), index=True)

    town: Mapped[Town] = relationship(back_populates="villages", lazy="joined")

    def __repr__(self) -> str:
        return f"Village({self.code!r}, {self.name!r})"


# ---------------------------------------------------------------------------------------------- people


class Member(Base):
    """A staff member known by Telegram user ID. Residents are never members."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("role IN ('cadre', 'bureau', 'admin', 'department')", name="role"),
        CheckConstraint(
            "(role = 'cadre' AND village_id IS NOT NULL) OR (role = 'bureau' AND town_id IS NOT NULL) OR role = 'admin'"
            " OR (role = 'department' AND town_id IS NOT NULL AND department <> '')",
            name="role_place",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Department staff only: the canonical name of their department (knowledge/data/departments.yaml)
    department: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    village: Mapped[Village | None] = relationship(lazy="joined")
    town: Mapped[Town | None] = relationship(lazy="joined")

    @property
    def effective_town_id(self) -> int | None:
        """The member's town: the bureau's own, or the town of the cadre's village."""
        if self.town_id is not None:
            return self.town_id
        return self.village.town_id if self.village is not None else None

    def __repr__(self) -> str:
        return f"Member(id={self.id}, role={self.role!r}, village_id={self.village_id}, town_id={self.town_id})"


class Invite(Base):
    """A single-use, expiring registration code for one role at one place."""

    __tablename__ = "invites"
    __table_args__ = (CheckConstraint("role IN ('cadre', 'bureau', 'admin', 'department')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(INVITE_CODE_MAX), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    department: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))

    village: Mapped[Village | None] = relationship(lazy="joined")
    town: Mapped[Town | None] = relationship(lazy="joined")


class InviteAttempts(Base):
    """Wrong invite codes of one Telegram user in the current window, and until when they may not try again:
    in the database, so that a lock-out holds across restarts and workers (see storage.members)."""

    __tablename__ = "invite_attempts"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


# ---------------------------------------------------------------------------------------------- checks


class CheckLog(Base):
    """One task check and the cadre's feedback on the answer (+1 👍, -1 👎, NULL none)."""

    __tablename__ = "check_log"
    __table_args__ = (
        CheckConstraint("feedback IN (-1, 1)", name="feedback"),
        Index("ix_check_log_village_id_created_at", "village_id", "created_at"),
        UniqueConstraint("bot_id", "update_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(32))
    top_item_id: Mapped[str | None] = mapped_column(String(32))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    feedback: Mapped[int | None] = mapped_column(SmallInteger)
    # The Telegram update the check answered (update ids count per bot): a replayed update (after a crash) finds
    # its check instead of logging it twice. NULL for checks from the console or the CLI.
    bot_id: Mapped[int | None] = mapped_column(BigInteger)
    update_id: Mapped[int | None] = mapped_column(BigInteger)


# ---------------------------------------------------------------------------------------------- red cards


class RedCard(Base):
    """A red-card candidate: work a department pushed down without authority.

    One row per (village, department, item, period); reporting it again increments `count`.
    """

    __tablename__ = "red_cards"
    __table_args__ = (
        UniqueConstraint("village_id", "department", "item_id", "period"),
        CheckConstraint("status IN ('candidate', 'confirmed', 'withdrawn', 'included')", name="status"),
        CheckConstraint("count >= 1", name="count"),
        Index("ix_red_cards_village_id_created_at", "village_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    department: Mapped[str] = mapped_column(String(100))  # as the cadre chose or typed it, shown as it is
    # The knowledge base's canonical name of that department ('镇医保办' -> '医保局'), only for grouping
    department_key: Mapped[str] = mapped_column(String(100), default="", server_default="")
    item_id: Mapped[str] = mapped_column(String(32), default=NO_ITEM, server_default="")
    task_text: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    period: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    status: Mapped[str] = mapped_column(String(16), default="candidate", server_default="candidate")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    village: Mapped[Village] = relationship(lazy="joined")
    events: Mapped[list[RedCardEvent]] = relationship(
        back_populates="red_card", order_by="RedCardEvent.id", cascade="all, delete-orphan", passive_deletes=True
    )


class RedCardEvent(Base):
    """One step in a red card's timeline."""

    __tablename__ = "red_card_events"
    __table_args__ = (
        CheckConstraint(
            "action IN ('created', 'reported_again', 'confirmed', 'withdrawn', 'included', 'restored')", name="action"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    red_card_id: Mapped[int] = mapped_column(ForeignKey("red_cards.id", ondelete="CASCADE"), index=True)
    actor_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    note: Mapped[str | None] = mapped_column(Text)

    red_card: Mapped[RedCard] = relationship(back_populates="events")


class RedCardReport(Base):
    """The red card one check's answer was reported as: a check raises at most one report (the primary key), so
    pressing 记为红牌候选 again on the same answer cannot count the card again. `red_card_id` is set in the
    same transaction that claims the check (NULL only inside it)."""

    __tablename__ = "red_card_reports"

    check_id: Mapped[int] = mapped_column(ForeignKey("check_log.id", ondelete="CASCADE"), primary_key=True)
    red_card_id: Mapped[int | None] = mapped_column(ForeignKey("red_cards.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# ---------------------------------------------------------------------------------------------- surveys


class SurveyPeriod(Base):
    """A survey period: code '2026-11' (monthly) or '2026-Q4' (quarterly); ends_on is the last day, inclusive."""

    __tablename__ = "survey_periods"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)


class SurveyResponse(Base):
    """One resident's anonymous response for one village and period.

    `respondent_key` = scrypt(telegram user id | village code | period code) keyed by the secret, hex (see
    storage.surveys.respondent_key). It already contains village and period, so UNIQUE(respondent_key) means one
    response per person, village and period. NULL once the period has closed (storage.surveys.erase_closed_keys):
    then nothing links the answer to a person. Only the day is kept, never a timestamp; no Telegram ID.
    """

    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_village_id_period_id", "village_id", "period_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    respondent_key: Mapped[str | None] = mapped_column(String(KEY_LEN), unique=True, nullable=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("survey_periods.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    comment: Mapped[str | None] = mapped_column(Text)

    answers: Mapped[list[SurveyAnswer]] = relationship(
        back_populates="response",
        order_by="SurveyAnswer.aspect_code",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )

    @property
    def scores(self) -> dict[str, int]:
        return {a.aspect_code: a.score for a in self.answers}


class SurveyAnswer(Base):
    """One aspect's score (1-5). Skipped aspects have no row.

    `village_id` and `period_id` are copied from the response so the digest can aggregate by
    (period, village, aspect) from one covering index without joining.
    """

    __tablename__ = "survey_answers"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
        Index("ix_survey_answers_period_village_aspect", "period_id", "village_id", "aspect_code", "score"),
    )

    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), primary_key=True
    )
    aspect_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("survey_periods.id"))

    response: Mapped[SurveyResponse] = relationship(back_populates="answers")


# ---------------------------------------------------------------------------------------------- conversation state


class PendingAction(Base):
    """Short-lived state of a multi-step flow; its `id` is the short ID carried in button callback data."""

    __tablename__ = "pending_actions"
    __table_args__ = (
        Index("ix_pending_actions_member_id_kind", "member_id", "kind"),
        # an anonymous owner (owner_key) has at most one step of a kind; NULL owner keys never collide
        Index("ix_pending_actions_owner_key_kind", "owner_key", "kind", unique=True),
        # ids are never reused on SQLite either, so a stale button cannot hit a newer action
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # Steps whose owner must stay anonymous (a resident's survey) are found by a keyed hash instead of
    # member_id/chat_id: a keyed scrypt hash, hex, see storage.surveys.owner_key.
    owner_key: Mapped[str | None] = mapped_column(String(KEY_LEN))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class Resident(Base):
    """Someone who came through a survey link and never registered: the bot answers them in residents' words.
    Found by a keyed hash of the Telegram user (storage.residents.resident_key), never the ID itself; day only."""

    __tablename__ = "residents"

    owner_key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    first_seen: Mapped[date] = mapped_column(Date)


# ---------------------------------------------------------------------------------------------- digest


class DigestSubscription(Base):
    """A member who receives the weekly digest of a town (town_id NULL: the city roll-up)."""

    __tablename__ = "digest_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), unique=True)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    member: Mapped[Member] = relationship(lazy="joined")


class DigestSend(Base):
    """One digest sent (or being sent) for a scope and ISO week.

    The sender INSERTs the row first and sends only if the insert succeeded (UNIQUE(scope, iso_week)).
    `scope` is 'town:<CODE>' or 'city'; `finished_at` is set once delivery completed.
    """

    __tablename__ = "digest_sends"
    __table_args__ = (UniqueConstraint("scope", "iso_week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(48))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    iso_week: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeliveryStatus(StrEnum):
    """Where one recipient's digest of one week stands (DigestDelivery.status)."""

    PENDING = "pending"  # nothing tried yet
    RETRYING = "retrying"  # a part failed; tried again at next_attempt_at
    SENT = "sent"  # every part arrived: the week is done for this recipient
    GIVEN_UP = "given_up"  # refused for good (blocked bot, bad request) or failed too often


class DigestDelivery(Base):
    """One recipient's digest of one (scope, ISO week), created with the week's DigestSend row.

    One row per recipient with a column per part, rather than a row per part: the parts go out in a fixed order
    (the text announces the attachments after it), so a sender claims the recipient once and resumes at the first
    part that is missing; the backoff and the attempts count are the recipient's. `messages_sent` counts the text's
    messages (a long text is several), `*_sent_at` record the parts that arrived, so a retry sends only the rest.
    A sender owns the row while `claimed_by` is its token and `next_attempt_at` (the lease) has not passed.
    """

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("scope", "iso_week", "chat_id"),
        CheckConstraint("status IN ('pending', 'retrying', 'sent', 'given_up')", name="status"),
        Index("ix_digest_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(48))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    iso_week: Mapped[str] = mapped_column(String(10))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    messages_sent: Mapped[int] = mapped_column(Integer, default=0)
    text_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    xlsx_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    png_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# ---------------------------------------------------------------------------------------------- update intake


class InboundUpdate(Base):
    """A Telegram update as it arrived, kept before Telegram is told it arrived (storage.intake).

    `user_key` orders one user's updates (a keyed hash of the Telegram user or chat, not the ID itself);
    `payload` (the update's JSON) is erased once the update is done, and done rows are purged after
    INTAKE_KEEP_DAYS: they only remember which update_ids were handled, so a redelivery is not handled twice.
    """

    __tablename__ = "inbound_updates"
    __table_args__ = (
        # The claim query's index: the open (pending or claimed) updates of each user, in order.
        Index("ix_inbound_updates_open", "bot_id", "user_key", "update_id",
              postgresql_where=text("status < 2"), sqlite_where=text("status < 2")),
    )

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_key: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[int] = mapped_column(SmallInteger, default=0, index=True)  # storage.intake.Status
    payload: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


# ---------------------------------------------------------------------------------------------- shared rate limit


class RateWindow(Base):
    """One user's recent checks (or survey submissions) when workers in several processes share the per-user limit
    (storage.ratelimits; any of them may handle the user's next update). Keyed by a keyed hash of the user, never
    the Telegram ID; it holds times only, no content."""

    __tablename__ = "rate_windows"

    user_key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    hits: Mapped[list] = mapped_column(JSON)  # epoch seconds of the hits still in the window, oldest first
    quiet_until: Mapped[float] = mapped_column(Float, default=0.0)  # refusals before this are not warned again
    last_hit: Mapped[float] = mapped_column(Float, default=0.0, index=True)  # for the purge of idle users' rows


# ---------------------------------------------------------------------------------------------- audit


# ---------------------------------------------------------------------------------------------- two-way evaluation


class RoundStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReminderReason(StrEnum):
    THREE_DAYS = "3d"  # three days before the deadline
    ONE_DAY = "1d"  # one day before
    ASKED = "asked"  # the bureau asked for one (`evaluation remind`)


class EvaluationRound(Base):
    """A town's two-way evaluation of one half-year: code '2026H1' (年中) or '2026H2' (年末)."""

    __tablename__ = "evaluation_rounds"
    __table_args__ = (
        UniqueConstraint("town_id", "code"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"))
    code: Mapped[str] = mapped_column(String(8))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default=RoundStatus.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    town: Mapped[Town] = relationship(lazy="joined")


class EvaluationReminder(Base):
    """A reminder of a round to everyone who has not finished, sent by the running bot once it is due."""

    __tablename__ = "evaluation_reminders"
    __table_args__ = (Index("ix_evaluation_reminders_due", "sent_at", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rounds.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recipients: Mapped[int] = mapped_column(Integer, default=0)


class CardChoice(StrEnum):
    """What a committee did with a confirmed red-card candidate in a round."""

    RAISED = "raised"  # shown as a formal red card (亮红牌)
    DROPPED = "dropped"  # not pursued


class EvaluationCardDecision(Base):
    """The committee raised a confirmed red-card candidate as a formal red card in a round, or dropped it."""

    __tablename__ = "evaluation_card_decisions"
    __table_args__ = (CheckConstraint("decision IN ('raised', 'dropped')", name="decision"),)

    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rounds.id", ondelete="CASCADE"), primary_key=True)
    red_card_id: Mapped[int] = mapped_column(ForeignKey("red_cards.id", ondelete="CASCADE"), primary_key=True)
    decision: Mapped[str] = mapped_column(String(8))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EvaluationRating(Base):
    """A committee's grade of one department on one aspect (codes from knowledge/data/evaluation.yaml)."""

    __tablename__ = "evaluation_ratings"

    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rounds.id", ondelete="CASCADE"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), primary_key=True)
    department: Mapped[str] = mapped_column(String(100), primary_key=True)  # canonical name
    aspect_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    grade_code: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ScoreSource(StrEnum):
    BOT = "bot"
    XLSX = "xlsx"  # imported from the filled form
    CLI = "cli"


class EvaluationScore(Base):
    """A department's 百分制 score of one village's work on one agreed item."""

    __tablename__ = "evaluation_scores"
    __table_args__ = (CheckConstraint("score >= 0 AND score <= 100", name="score"),)

    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rounds.id", ondelete="CASCADE"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    department: Mapped[str] = mapped_column(String(100))  # canonical name of the scoring department
    score: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(8), default=ScoreSource.BOT)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EvaluationBonus(Base):
    """A department's bonus points for a village's outstanding work, with the reason (0 points: none)."""

    __tablename__ = "evaluation_bonuses"
    __table_args__ = (CheckConstraint("points >= 0", name="points"),)

    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rounds.id", ondelete="CASCADE"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), primary_key=True)
    department: Mapped[str] = mapped_column(String(100), primary_key=True)
    points: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(8), default=ScoreSource.BOT)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FeePayment(Base):
    """Assistance fees paid to a village for one agreed item in a round (费随事转), in fen."""

    __tablename__ = "fee_payments"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount"),
        Index("ix_fee_payments_round_id_village_id", "round_id", "village_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rounds.id", ondelete="CASCADE"))
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    item_id: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))  # audit actor label: 'cli' or 'member:<id>'
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditLog(Base):
    """An admin action: actor is 'cli' or 'member:<id>'."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


__all__ = [
    "ROLE_DEPARTMENT",
    "CardChoice",
    "EvaluationBonus",
    "EvaluationCardDecision",
    "EvaluationRating",
    "EvaluationReminder",
    "EvaluationRound",
    "EvaluationScore",
    "FeePayment",
    "ReminderReason",
    "RoundStatus",
    "ScoreSource",
    "AuditLog",
    "Base",
    "CheckLog",
    "DIGEST_SCOPE_CITY",
    "DeliveryStatus",
    "DigestDelivery",
    "DigestSend",
    "DigestSubscription",
    "InboundUpdate",
    "Invite",
    "InviteAttempts",
    "Member",
    "NO_ITEM",
    "PendingAction",
    "RED_CARD_ACTIONS",
    "RED_CARD_STATUSES",
    "ROLES",
    "ROLE_ADMIN",
    "ROLE_BUREAU",
    "ROLE_CADRE",
    "RedCard",
    "RedCardEvent",
    "RedCardReport",
    "Resident",
    "SurveyAnswer",
    "SurveyPeriod",
    "SurveyResponse",
    "Town",
    "UTCDateTime",
    "Village",
    "utcnow",
]
