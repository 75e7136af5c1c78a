"""Button payloads: a short prefix, database ids, and a tag that binds the button to the user it was sent to.

    data = sign(secret, user_id, "fb", 123, "u")      # 'fb:123:u:Xy3_k9Qa'
    parts = verify(secret, user_id, data, "fb")       # ['123', 'u'], or None if forged/malformed/another user's

Callback data carries ids only, never text; Telegram allows at most 64 UTF-8 bytes (checked here).
The tag is the first 8 characters of base64url(HMAC-SHA256(secret, "<user id>|<payload>")): a forged or edited
button, or one pressed by someone else, fails verification and changes nothing. It does not expire by itself;
whatever it points to (a pending step, a check) is validated against the database when pressed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

MAX_BYTES = 64
TAG_LEN = 8
SEP = ":"
_PART_RE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")


def _tag(secret: str, user_id: int, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{user_id}|{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:TAG_LEN]


def sign(secret: str, user_id: int, prefix: str, *parts: object) -> str:
    """'prefix:part:…:tag' for this user; ValueError if a part is not a short id or the result exceeds 64 bytes."""
    items = [prefix, *(str(p) for p in parts)]
    for item in items:
        if not _PART_RE.match(item):
            raise ValueError(f"callback part must be a short id: {item!r}")
    body = SEP.join(items)
    data = f"{body}{SEP}{_tag(secret, user_id, body)}"
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def verify(secret: str, user_id: int, data: str | None, prefix: str, nparts: int | None = None) -> list[str] | None:
    """The parts after the prefix if `data` is a well-formed button of `prefix` issued to `user_id`; else None."""
    # Only ASCII can be a button we issued; compare_digest raises TypeError on non-ASCII str, so refuse first.
    if not data or not data.isascii() or len(data) > MAX_BYTES:
        return None
    items = data.split(SEP)
    if len(items) < 2 or items[0] != prefix:
        return None
    body, tag = SEP.join(items[:-1]), items[-1]
    if not hmac.compare_digest(tag, _tag(secret, user_id, body)):
        return None
    parts = items[1:-1]
    if nparts is not None and len(parts) != nparts:
        return None
    return parts


def as_int(value: str, minimum: int = 0, maximum: int = 2**62) -> int | None:
    """A decimal id within bounds, else None (no signs, no spaces)."""
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if minimum <= number <= maximum else None


__all__ = ["MAX_BYTES", "as_int", "sign", "verify"]
