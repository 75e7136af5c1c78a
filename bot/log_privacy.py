"""No Telegram ID in any log line: every number that could be one is replaced by a pseudonym before a record
is written, at every level and from every logger (PTB logs each Bot API call with its parameters at DEBUG:
chat_id beside the text of a survey question, a summary with the scores, a resident's typed comment).

    from bot import log_privacy
    log_privacy.install()          # once logging is configured: on every handler of the root logger

A pseudonym is `tg#` and 6 hex digits of HMAC(a random key of this process, the number): the lines of one user
still go together within a run, but no one can get the ID back from the log (the key is never written anywhere,
and a fresh one is drawn at every start). Any run of 5 or more digits is treated as a possible ID (user ids,
chat ids, negative group ids, a name like 'user5550001234'); update ids and timestamps lose nothing an operator
needs; message ids and counts (fewer digits) stay.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable

ID_DIGITS = 5  # Telegram user ids have 5 digits or more; shorter numbers (message ids, counts, ports) stay
PSEUDONYM_HEX = 6
# A number of 5+ digits anywhere, even glued to letters ('user5550001234'), but never inside a bot token
# ('123456:AA…'): the token filter (bot.app.protect_logs) must still find the whole token to hide it, whichever
# filter runs first. The scan takes a token whole, so no digit within it is touched.
_TOKEN_OR_NUMBER = re.compile(rf"(?P<token>\d+:[A-Za-z0-9_-]{{30,}})|(?<![\d.])(?P<number>-?\d{{{ID_DIGITS},}})(?!\d)")
_FORMATTER = logging.Formatter()


class RedactTelegramIds(logging.Filter):
    """Rewrites each record's rendered message (and its traceback text) with pseudonyms for possible IDs; never
    drops a record."""

    def __init__(self, key: bytes | None = None) -> None:
        super().__init__()
        self._key = key or secrets.token_bytes(32)

    def pseudonym(self, number: str) -> str:
        digest = hmac.new(self._key, number.lstrip("-").encode(), hashlib.sha256).hexdigest()
        return "tg#" + digest[:PSEUDONYM_HEX]

    def redact(self, text: str) -> str:
        return _TOKEN_OR_NUMBER.sub(lambda m: m["token"] or self.pseudonym(m["number"]), text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: logging reports it; redact the template at least
            message = str(record.msg)
        record.msg, record.args = self.redact(message), None
        if record.exc_info and record.exc_info != (None, None, None):
            # Rendered here and handed on as text only (as the token filter does): a later filter or formatter
            # rendering exc_info again would bring the IDs back.
            record.exc_text = _FORMATTER.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install(logger: logging.Logger | None = None) -> Callable[[], None]:
    """Put one RedactTelegramIds on every handler of `logger` (default: the root logger); returns the undo."""
    target = logger or logging.getLogger()
    redactor = RedactTelegramIds()
    handlers = list(target.handlers)
    for handler in handlers:
        handler.addFilter(redactor)

    def uninstall() -> None:
        for handler in handlers:
            handler.removeFilter(redactor)

    return uninstall


__all__ = ["ID_DIGITS", "RedactTelegramIds", "install"]
