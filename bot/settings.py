"""Configuration: the environment variables of the configuration table in README.md, parsed and validated once.

    settings = Settings()                          # reads the environment; SettingsError if a value is wrong
    settings = Settings(data_dir=tmp, database_url=url)   # tests: field names, the environment fills the rest

`cadrebot` builds one Settings at start (bot/cli.py) and hands it to the command; nothing else reads the
environment. A wrong value raises SettingsError, one Chinese line per wrong variable, naming it and what it accepts:

    配置错误：CADREBOT_CHECKS_PER_MINUTE 应为正整数，收到 "abc"

The bot token and the secret are SecretStr, so repr, str and logs show '**********'; code that needs them calls
`.get_secret_value()`. The repr hides the database password as well.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_serializer, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from knowledge.loader import agreement_names, profile_names
from storage.db import PRIVATE_DIR_MODE, redacted_url
from storage.db import database_url as normalized_database_url
from storage.errors import InvalidInput
from storage.surveys import DEFAULT_ASPECTS, configured_aspects
from texts import settings as T

log = logging.getLogger(__name__)

# The secret a fresh checkout has; it is public (it is in this file), so `cadrebot run` never uses it.
DEFAULT_SECRET = "cadrebot-dev-secret-change-me"
SECRET_FILE = "secret"

# Where DATABASE_URL may point, as (backend, driver) after storage.db's normalising: SQLite through the standard
# library, PostgreSQL through psycopg 3 (the drivers installed; MySQL or psycopg2 would fail only at first use).
SUPPORTED_DATABASES = {("sqlite", "pysqlite"), ("postgresql", "psycopg")}
# Telegram's rule for bot usernames (5-32 characters, a letter first).
BOT_USERNAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
DIGEST_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})")
# A blank value of these means "none"; a blank value of any other setting means its default.
BLANK_MEANS_NONE = frozenset({"agreement"})
SHOWN_VALUE_MAX = 80  # characters of a wrong value quoted back to the deployer


class SurveyGranularity(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


@dataclass(frozen=True)
class SettingProblem:
    """One wrong value: the variable, what it accepts, and what it got (never a secret: those are not checked)."""

    variable: str
    accepts: str
    value: str

    def __str__(self) -> str:
        return T.INVALID.format(variable=self.variable, accepts=self.accepts, value=self.value)


class SettingsError(ValueError):
    """The configuration has wrong values; str() is one Chinese line per value, ready to print."""

    def __init__(self, problems: list[SettingProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class _Rejected(ValueError):
    """Raised by a validator whose accepted values are only known at run time (the profiles that exist …)."""

    def __init__(self, choices: list[str]) -> None:
        self.choices = choices
        super().__init__(", ".join(choices))


class Settings(BaseSettings):
    """Everything the deployer can set; see the configuration table in README.md. Frozen: one value per run."""

    model_config = SettingsConfigDict(
        frozen=True,
        populate_by_name=True,  # Settings(data_dir=...) by field name, the environment by variable name
        case_sensitive=True,  # exactly the documented names: no DATA_DIR or data_dir picked up by accident
        extra="ignore",
    )

    data_dir: Path = Field(Path("data"), validation_alias="CADREBOT_DATA_DIR")
    # Empty: <data_dir>/cadrebot.db (SQLite).
    database_url: str = Field("", validation_alias="DATABASE_URL", validate_default=True)
    bot_token: SecretStr = Field(SecretStr(""), validation_alias="TELEGRAM_BOT_TOKEN")
    api_base_url: str = Field("", validation_alias="TELEGRAM_API_BASE_URL")
    bot_username: str = Field("cadrebot", validation_alias="CADREBOT_BOT_USERNAME")
    # Before profile and agreement: they are checked against the knowledge directory in use.
    knowledge_dir: str = Field("", validation_alias="CADREBOT_KNOWLEDGE_DIR")
    profile: str = Field("taicang", validation_alias="CADREBOT_PROFILE", validate_default=True)
    agreement: str = Field("demo", validation_alias="CADREBOT_AGREEMENT", validate_default=True)
    # HMAC key for residents' anonymous survey keys (and button signatures). When it is not set, `cadrebot run`
    # generates one and keeps it in <data_dir>/secret (see with_persistent_secret).
    secret: SecretStr = Field(SecretStr(DEFAULT_SECRET), validation_alias="CADREBOT_SECRET")
    # Where that generated secret is kept; empty: <data_dir>/secret. Outside the data directory, a backup or copy
    # of the data does not carry the key that links survey answers to residents.
    secret_file: str = Field("", validation_alias="CADREBOT_SECRET_FILE")
    timezone: str = Field("Asia/Shanghai", validation_alias="CADREBOT_TZ")
    survey_period: SurveyGranularity = Field(SurveyGranularity.MONTHLY, validation_alias="CADREBOT_SURVEY_PERIOD")
    # Comma-separated aspect codes (code:名称 adds one); empty means the eight aspects of the founding documents.
    survey_aspects: str = Field("", validation_alias="CADREBOT_SURVEY_ASPECTS")
    digest_weekday: int = Field(0, ge=0, le=6, validation_alias="CADREBOT_DIGEST_WEEKDAY")  # 0 = Monday
    digest_time: str = Field("08:30", validation_alias="CADREBOT_DIGEST_TIME")
    checks_per_minute: int = Field(30, gt=0, validation_alias="CADREBOT_CHECKS_PER_MINUTE")
    # Empty: the digest chart looks for an installed CJK font (bot/digest/fonts.py).
    cjk_font: str = Field("", validation_alias="CADREBOT_CJK_FONT")

    def __init__(self, **values: Any) -> None:
        unknown = sorted(set(values) - set(type(self).model_fields))
        if unknown:  # a typo in code, not a deployer's mistake: fail like a dataclass would
            raise TypeError(f"Settings() got unexpected keyword arguments: {', '.join(unknown)}")
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise SettingsError([_problem(detail) for detail in error.errors()]) from None

    def replace(self, **changes: Any) -> Settings:
        """A copy with these fields changed, validated like every other value (SettingsError if one is wrong)."""
        return type(self)(**{**dict(self), **changes})

    @property
    def cache_dir(self) -> Path:
        """Directory the app owns for caches (jieba's dictionary cache lives here)."""
        return self.data_dir / "cache"

    def __repr_args__(self) -> Any:  # repr and str: the secrets are SecretStr already; hide the DB password too
        for name, value in super().__repr_args__():
            yield name, (_redacted(value) if name == "database_url" else value)

    @field_serializer("database_url")
    def _without_password(self, url: str) -> str:  # model_dump and model_dump_json are for showing
        return _redacted(url)

    # ------------------------------------------------------------------------------------------ validators

    @field_validator("*", mode="before")
    @classmethod
    def _blank_means_default(cls, value: Any, info: ValidationInfo) -> Any:
        """Surrounding spaces are dropped; a blank value is the default (for the agreement: none)."""
        if not isinstance(value, str) or info.field_name is None:
            return value
        value = value.strip()
        if value or info.field_name in BLANK_MEANS_NONE:
            return value
        return cls.model_fields[info.field_name].get_default(call_default_factory=True)

    @field_validator("data_dir")
    @classmethod
    def _directory(cls, path: Path) -> Path:
        if _kind_of(path) not in ("missing", "directory"):
            raise ValueError("not a directory")
        return path

    @field_validator("database_url")
    @classmethod
    def _database(cls, url: str, info: ValidationInfo) -> str:
        if not url:
            return f"sqlite:///{info.data.get('data_dir', Path('data')) / 'cadrebot.db'}"
        try:
            parsed = make_url(normalized_database_url(url))
        except (ArgumentError, ValueError) as error:
            raise ValueError("not a database URL") from error
        if (parsed.get_backend_name(), parsed.get_driver_name()) not in SUPPORTED_DATABASES:
            raise ValueError(f"unsupported database {parsed.drivername}")
        return url

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("not an http(s) URL")
        return url

    @field_validator("bot_username")
    @classmethod
    def _username(cls, name: str) -> str:
        name = name.removeprefix("@")  # t.me links take the bare name
        if not BOT_USERNAME_RE.fullmatch(name):
            raise ValueError("not a bot username")
        return name

    @field_validator("knowledge_dir")
    @classmethod
    def _knowledge_dir(cls, folder: str) -> str:
        if folder and _kind_of(Path(folder)) != "directory":
            raise ValueError("no such directory")
        return folder

    @field_validator("profile")
    @classmethod
    def _profile(cls, name: str, info: ValidationInfo) -> str:
        if "knowledge_dir" not in info.data:  # the directory is wrong itself: that is the problem to report
            return name
        names = profile_names(_knowledge_root(info))
        if name not in names:
            raise _Rejected(names)
        return name

    @field_validator("agreement")
    @classmethod
    def _agreement(cls, name: str, info: ValidationInfo) -> str:
        if not name or "knowledge_dir" not in info.data:
            return name
        names = agreement_names(_knowledge_root(info))
        if name not in names:
            raise _Rejected(names)
        return name

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError) as error:  # OSError: a "name" too long for a file
            raise ValueError("unknown time zone") from error
        return name

    @field_validator("survey_aspects")
    @classmethod
    def _aspects(cls, spec: str) -> str:
        try:
            configured_aspects(spec)
        except InvalidInput as error:
            raise ValueError(str(error)) from error
        return spec

    @field_validator("digest_time")
    @classmethod
    def _time_of_day(cls, text: str) -> str:
        match = DIGEST_TIME_RE.fullmatch(text)
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValueError("not HH:MM")
        return f"{int(match[1]):02d}:{match[2]}"

    @field_validator("secret_file")
    @classmethod
    def _secret_file(cls, path: str) -> str:
        if path and (_kind_of(Path(path)) not in ("file", "missing")
                     or _kind_of(Path(path).parent) not in ("directory", "missing")):
            raise ValueError("not a usable file path")
        return path

    @field_validator("cjk_font")
    @classmethod
    def _font_file(cls, path: str) -> str:
        if path and _kind_of(Path(path)) != "file":
            raise ValueError("no such file")
        return path


FIELD_OF_VARIABLE = {str(info.validation_alias): name for name, info in Settings.model_fields.items()}
VARIABLE_OF_FIELD = {name: variable for variable, name in FIELD_OF_VARIABLE.items()}
# What the {choices} of a text lists when the validator does not say (the built-in aspect codes).
DEFAULT_CHOICES = {"survey_aspects": [aspect.code for aspect in DEFAULT_ASPECTS]}


def _kind_of(path: Path) -> str:
    """'directory', 'file', 'missing', or 'unusable' (a name too long or with a NUL byte, no permission …)."""
    try:
        if path.is_dir():
            return "directory"
        return "file" if path.is_file() else ("missing" if not path.exists() else "unusable")
    except (OSError, ValueError):
        return "unusable"


def _knowledge_root(info: ValidationInfo) -> Path | None:
    """The knowledge directory validated just before (None: the bundled one)."""
    return Path(info.data["knowledge_dir"]) if info.data["knowledge_dir"] else None


def _problem(detail: Any) -> SettingProblem:
    """One pydantic error as the deployer's line: the variable, what it accepts, the value it got."""
    key = str(detail["loc"][0]) if detail.get("loc") else ""
    field = FIELD_OF_VARIABLE.get(key, key)
    cause = (detail.get("ctx") or {}).get("error")
    choices = cause.choices if isinstance(cause, _Rejected) else DEFAULT_CHOICES.get(field, [])
    accepts = T.ACCEPTS.get(field, "").format(choices=T.CHOICE_SEPARATOR.join(choices) or T.NO_CHOICES)
    return SettingProblem(VARIABLE_OF_FIELD.get(field, key), accepts, _shown(field, detail.get("input")))


def _shown(field: str, value: Any) -> str:
    text = _redacted(value) if field == "database_url" else str(value)
    text = " ".join(text.split())  # one line, whatever the variable held
    return text if len(text) <= SHOWN_VALUE_MAX else text[: SHOWN_VALUE_MAX - 1] + "…"


def _redacted(url: Any) -> str:
    """A database URL without its password; of something that does not parse, nothing before an '@'."""
    text = str(url)
    try:
        return redacted_url(text)
    except (ArgumentError, ValueError):
        return "…@" + text.rpartition("@")[2] if "@" in text else text


def with_persistent_secret(settings: Settings) -> Settings:
    """Settings whose secret is not the public default: an explicit CADREBOT_SECRET is kept as it is; otherwise
    the secret in CADREBOT_SECRET_FILE (default <data_dir>/secret), generated (random, file mode 600) on the first
    call and read on every later one, so that residents' anonymous survey keys stay the same across restarts and
    cannot be recomputed by anyone who knows the default."""
    if settings.secret.get_secret_value() != DEFAULT_SECRET:
        return settings
    path = Path(settings.secret_file) if settings.secret_file else Path(settings.data_dir) / SECRET_FILE
    secret = _read_secret(path)
    if secret:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return settings.replace(secret=secret)
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = _read_secret(path)
        if secret:  # another process wrote it a moment ago
            return settings.replace(secret=secret)
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)  # empty: left by an interrupted start, never used
        os.fchmod(fd, 0o600)
    secret = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    log.warning("CADREBOT_SECRET is not set: generated a random secret in %s (keep it with the database; "
                "survey answers are keyed by it)", path)
    return settings.replace(secret=secret)


def _read_secret(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


__all__ = ["DEFAULT_SECRET", "Settings", "SettingProblem", "SettingsError", "SurveyGranularity", "with_persistent_secret"]
