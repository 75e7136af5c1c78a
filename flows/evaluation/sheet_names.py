"""Excel sheet names made from our own names (villages, departments), as both the dossier and the scoring form
need them: without []:*?/\\, at most 31 characters, no apostrophe at either end, and unique in the workbook as
Excel compares them (ignoring case; 'History' is Excel's own)."""

from __future__ import annotations

import re
from collections.abc import Iterable

SHEET_NAME_MAX = 31  # Excel's limit
_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def _trim(name: str) -> str:
    return name.strip()[:SHEET_NAME_MAX].strip().strip("'")


def safe_sheet_names(names: Iterable[str], *, taken: Iterable[str] = (), fallback: str = "Sheet") -> tuple[str, ...]:
    """A valid, distinct sheet name for each of `names`, in order, none of them in `taken`; a name that is the same
    as an earlier one after cleaning gets '(2)', '(3)' …"""
    used = {t.casefold() for t in taken} | {"history"}
    result = []
    for name in names:
        base = _trim(_UNSAFE.sub("_", name)) or fallback
        candidate, n = base, 2
        while candidate.casefold() in used:
            suffix = f"({n})"
            candidate = _trim(base[: SHEET_NAME_MAX - len(suffix)]) + suffix
            n += 1
        used.add(candidate.casefold())
        result.append(candidate)
    return tuple(result)


__all__ = ["SHEET_NAME_MAX", "safe_sheet_names"]
