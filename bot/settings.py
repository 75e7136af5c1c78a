"""Configuration read from the environment, with embedded defaults that work offline."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

log = logging.getLogger(__name__)

# The secret a fresh checkout has; it is public (it is in this file), so `cadrebot run` never uses it.
DEFAULT_SECRET = "cadrebot-dev-secret-change-me"
SECRET_FILE = "secret"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


@dataclass(frozen=True)
class Settings:
    """Everything the deployer can set; see the configuration table in README.md."""

    data_dir: Path = field(default_factory=lambda: Path(_env("CADREBOT_DATA_DIR", "data")))
    database_url: str = ""
    bot_token: str = field(default_factory=lambda: os.environ.get("TELEGRAM_BOT_TOKEN", "").strip())
    api_base_url: str = field(default_factory=lambda: _env("TELEGRAM_API_BASE_URL", ""))
    bot_username: str = field(default_factory=lambda: _env("CADREBOT_BOT_USERNAME", "cadrebot"))
    profile: str = field(default_factory=lambda: _env("CADREBOT_PROFILE", "taicang"))
    agreement: str = field(default_factory=lambda: _env("CADREBOT_AGREEMENT", "demo"))
    knowledge_dir: str = field(default_factory=lambda: _env("CADREBOT_KNOWLEDGE_DIR", ""))
    # HMAC key for residents' anonymous survey keys (and button signatures). When it is not set, `cadrebot run`
    # generates one and keeps it in <data_dir>/secret (see with_persistent_secret).
    secret: str = field(default_factory=lambda: _env("CADREBOT_SECRET", DEFAULT_SECRET))
    timezone: str = field(default_factory=lambda: _env("CADREBOT_TZ", "Asia/Shanghai"))
    survey_period: str = field(default_factory=lambda: _env("CADREBOT_SURVEY_PERIOD", "monthly"))
    # Comma-separated aspect codes (code:名称 adds one); empty means the eight aspects of the founding documents.
    survey_aspects: str = field(default_factory=lambda: _env("CADREBOT_SURVEY_ASPECTS", ""))
    digest_weekday: int = field(default_factory=lambda: int(_env("CADREBOT_DIGEST_WEEKDAY", "0")))
    digest_time: str = field(default_factory=lambda: _env("CADREBOT_DIGEST_TIME", "08:30"))
    checks_per_minute: int = field(default_factory=lambda: int(_env("CADREBOT_CHECKS_PER_MINUTE", "30")))

    def __post_init__(self) -> None:
        if not self.database_url:
            url = os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{self.data_dir / 'cadrebot.db'}"
            object.__setattr__(self, "database_url", url)

    @property
    def cache_dir(self) -> Path:
        """Directory the app owns for caches (jieba's dictionary cache lives here)."""
        return self.data_dir / "cache"

    def __repr__(self) -> str:  # never print the token or the secret
        from storage.db import redacted_url  # here, not at the top: storage.db imports this module

        return f"Settings(data_dir={self.data_dir!s}, database_url={redacted_url(self.database_url)}, profile={self.profile})"


def with_persistent_secret(settings: Settings) -> Settings:
    """Settings whose secret is not the public default: an explicit CADREBOT_SECRET is kept as it is; otherwise
    the secret in <data_dir>/secret, generated (random, file mode 600) on the first call and read on every later
    one, so that residents' anonymous survey keys stay the same across restarts and cannot be recomputed by
    anyone who knows the default."""
    if settings.secret and settings.secret != DEFAULT_SECRET:
        return settings
    path = Path(settings.data_dir) / SECRET_FILE
    secret = _read_secret(path)
    if secret:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return replace(settings, secret=secret)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = _read_secret(path)
        if secret:  # another process wrote it a moment ago
            return replace(settings, secret=secret)
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)  # empty: left by an interrupted start, never used
        os.fchmod(fd, 0o600)
    secret = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    log.warning("CADREBOT_SECRET is not set: generated a random secret in %s (keep it with the database; "
                "survey answers are keyed by it)", path)
    return replace(settings, secret=secret)


def _read_secret(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
