"""Configuration read from the environment, with embedded defaults that work offline."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


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
    # HMAC key for residents' anonymous survey keys; must be set in production.
    secret: str = field(default_factory=lambda: _env("CADREBOT_SECRET", "cadrebot-dev-secret-change-me"))
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
        return f"Settings(data_dir={self.data_dir!s}, database_url={_redact(self.database_url)}, profile={self.profile})"


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
