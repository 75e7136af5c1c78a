"""The lines a user gives `cadrebot chat` and `cadrebot check`: typed at a terminal with readline's line editing
and history (kept in <data dir>/console_history, mode 600), or read from a pipe or file one line at a time.

A line that is not valid UTF-8 comes out as None, so that one bad line costs that line and not the session."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

HISTORY_FILE = "console_history"
HISTORY_LENGTH = 1000
# Up to three bytes of an unfinished UTF-8 character, as lone surrogates (see TerminalInput._without_carried_bytes).
_CARRIED_BYTES = re.compile("[\udc80-\udcff]{1,3}")


def piped_lines(stream: BinaryIO) -> Iterator[str | None]:
    """Each line of a binary stream as text without its line ending, or None where it is not valid UTF-8."""
    for raw in stream:
        try:
            yield raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield None


def _undecodable(text: str) -> bool:
    """True for text holding lone surrogates: bytes a surrogateescape stdin (C locale, UTF-8 mode) or readline's
    history could not decode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _private_file(path: Path) -> Path:
    """Create `path` (and its directory) readable by its owner only, or tighten an existing file to 600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return path


class TerminalInput:
    """Lines typed at the prompt. Use as a context manager: it loads the history on entry and saves it on exit."""

    def __init__(self, prompt: str, data_dir: Path | None) -> None:
        self.prompt = prompt
        self.history = Path(data_dir) / HISTORY_FILE if data_dir is not None else None
        self.readline: ModuleType | None = None

    def __enter__(self) -> TerminalInput:
        try:
            import readline  # importing it gives input() line editing; not on every platform
        except ImportError:
            return self
        self.readline = readline
        readline.set_history_length(HISTORY_LENGTH)
        if self.history is not None:
            try:
                readline.read_history_file(_private_file(self.history))
            except OSError:  # a read-only or odd data directory: edit without keeping history
                self.history = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.readline is not None and self.history is not None:
            try:
                self.readline.write_history_file(_private_file(self.history))
            except OSError:
                pass

    def __iter__(self) -> Iterator[str | None]:
        after_bad_line = False
        while True:
            try:
                line: str | None = input(self.prompt)
            except EOFError:  # Ctrl+D
                print()
                return
            except UnicodeDecodeError:  # a strict UTF-8 stdin and bytes that are not UTF-8
                line = None
            else:
                if after_bad_line:
                    line = self._without_carried_bytes(line)
                if _undecodable(line):  # readline hands over what it cannot decode as lone surrogates
                    line = None
            if line is None:
                self._forget_undecodable()
            after_bad_line = line is None
            yield line

    def _without_carried_bytes(self, line: str) -> str:
        """The line without the start of a character readline kept from the bad line before: a bad line that ends
        in the first byte(s) of a UTF-8 character leaves them pending, and readline puts them in front of the next
        line the user types. Only the valid text after them is what the user typed now."""
        carried = _CARRIED_BYTES.match(line)
        rest = line[carried.end():] if carried else line
        if not carried or not rest.strip() or _undecodable(rest):
            return line
        if self.readline is not None:
            last = self.readline.get_current_history_length()
            if last and self.readline.get_history_item(last) == line:
                self.readline.replace_history_item(last - 1, rest)
        return rest

    def _forget_undecodable(self) -> None:
        """readline has put the bad line into the history: take it out again, so Up does not bring it back."""
        if self.readline is None:
            return
        last = self.readline.get_current_history_length()
        item = self.readline.get_history_item(last) if last else None
        if item is not None and _undecodable(item):
            self.readline.remove_history_item(last - 1)
